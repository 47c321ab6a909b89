"""Inside pods: exec, attach, the container shell, files, the pod network and NetworkPolicies."""
