#!/usr/bin/env bash
set -euo pipefail
kubectl rollout status deployment/cache -n "$NAMESPACE" --timeout="${TIMEOUT:-30s}"
limit=$(kubectl get deployment cache -n "$NAMESPACE" -o jsonpath='{.spec.template.spec.containers[0].resources.limits.memory}')
[ "$limit" != "4Mi" ]
# once the old pod is gone, the one left runs without restarts
timeout=${TIMEOUT:-30s}
deadline=$((SECONDS + ${timeout%s}))
while :; do
  counts=$(kubectl get pods -n "$NAMESPACE" -l app=cache -o jsonpath='{.items[*].status.containerStatuses[0].restartCount}')
  [ "$counts" = "0" ] && exit 0
  [ "$SECONDS" -lt "$deadline" ] || exit 1
  sleep 0.25
done
