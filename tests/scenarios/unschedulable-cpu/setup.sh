#!/usr/bin/env bash
set -euo pipefail
kubectl create namespace "$NAMESPACE"
kubectl create deployment batch --image=nginx:1.25 -n "$NAMESPACE"
kubectl set resources deployment/batch --requests=cpu=100 -n "$NAMESPACE"
for _ in $(seq 60); do
  kubectl get events -n "$NAMESPACE" --field-selector reason=FailedScheduling | grep "Insufficient cpu" >/dev/null && exit 0
  sleep 0.5
done
exit 1
