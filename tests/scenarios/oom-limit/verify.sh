#!/usr/bin/env bash
set -euo pipefail
kubectl rollout status deployment/cache -n "$NAMESPACE" --timeout="${TIMEOUT:-30s}"
limit=$(kubectl get deployment cache -n "$NAMESPACE" -o jsonpath='{.spec.template.spec.containers[0].resources.limits.memory}')
[ "$limit" != "4Mi" ]
# once the old pod is gone, the one left runs without restarts
for _ in $(seq 40); do
  counts=$(kubectl get pods -n "$NAMESPACE" -l app=cache -o jsonpath='{.items[*].status.containerStatuses[0].restartCount}')
  [ "$counts" = "0" ] && exit 0
  sleep 0.25
done
exit 1
