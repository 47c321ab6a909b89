#!/usr/bin/env bash
set -euo pipefail
kubectl rollout status deployment/site -n "$NAMESPACE" --timeout="${TIMEOUT:-30s}"
[ "$(kubectl get deployment site -n "$NAMESPACE" -o jsonpath='{.status.readyReplicas}')" = "2" ]
