#!/usr/bin/env bash
set -euo pipefail
kubectl rollout status deployment/frontend -n "$NAMESPACE" --timeout="${TIMEOUT:-30s}"
[ "$(kubectl get deployment frontend -n "$NAMESPACE" -o jsonpath='{.spec.template.spec.containers[0].image}')" = "nginx:1.25" ]
[ "$(kubectl get deployment frontend -n "$NAMESPACE" -o jsonpath='{.status.availableReplicas}')" = "4" ]
