#!/usr/bin/env bash
set -euo pipefail
kubectl create namespace "$NAMESPACE"
kubectl create deployment frontend --image=nginx:1.25 --replicas=4 -n "$NAMESPACE"
kubectl rollout status deployment/frontend -n "$NAMESPACE" --timeout=60s
kubectl set image deployment/frontend nginx=nginx:9.9.9-nope -n "$NAMESPACE"
for _ in $(seq 60); do
  kubectl get pods -n "$NAMESPACE" -l app=frontend | grep -E "ImagePullBackOff|ErrImagePull" >/dev/null && exit 0
  sleep 0.5
done
exit 1
