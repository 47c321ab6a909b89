"""kai's typed tools over the cluster and its Helm releases (the only layer that talks to
the kubernetes client and Helm's SDK)."""
