#!/usr/bin/env bash
set -euo pipefail
kubectl rollout status deployment/batch -n "$NAMESPACE" --timeout="${TIMEOUT:-30s}"
[ -z "$(kubectl get pods -n "$NAMESPACE" --field-selector=status.phase=Pending -o name)" ]
