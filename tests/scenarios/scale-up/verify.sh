#!/usr/bin/env bash
set -euo pipefail
kubectl rollout status deployment/web -n "$NAMESPACE" --timeout="${TIMEOUT:-30s}"
ready=$(kubectl get deployment web -n "$NAMESPACE" -o jsonpath='{.status.readyReplicas}')
[ "$ready" = "3" ]
