#!/usr/bin/env bash
set -euo pipefail
kubectl rollout status deployment/cache -n "$NAMESPACE" --timeout="${TIMEOUT:-30s}"
[ "$(kubectl get pods -n "$NAMESPACE" -l app=cache -o jsonpath='{.items[0].status.containerStatuses[0].restartCount}')" = "0" ]
