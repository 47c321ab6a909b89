#!/usr/bin/env bash
set -euo pipefail
kubectl rollout status deployment/gateway -n "$NAMESPACE" --timeout="${TIMEOUT:-30s}"
[ "$(kubectl get deployment gateway -n "$NAMESPACE" -o jsonpath='{.spec.template.spec.containers[0].livenessProbe.httpGet.path}')" = "/" ]
sleep 1
[ "$(kubectl get pods -n "$NAMESPACE" -l app=gateway --field-selector=status.phase=Running -o jsonpath='{.items[0].status.containerStatuses[0].restartCount}')" = "0" ]
