#!/usr/bin/env bash
set -euo pipefail
kubectl rollout status deployment/shop -n "$NAMESPACE" --timeout="${TIMEOUT:-30s}"
[ "$(kubectl get deployment shop -n "$NAMESPACE" -o jsonpath='{.spec.template.spec.containers[0].image}')" = "nginx:1.25" ]
