#!/usr/bin/env bash
set -euo pipefail
kubectl create namespace "$NAMESPACE"
kubectl create deployment store --image=redis:7.2 --replicas=4 -n "$NAMESPACE"
kubectl rollout status deployment/store -n "$NAMESPACE" --timeout=60s
kubectl set image deployment/store redis=redis:7.2-missing -n "$NAMESPACE"
! kubectl rollout status deployment/store -n "$NAMESPACE" --timeout=3s
