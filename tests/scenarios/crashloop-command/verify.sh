#!/usr/bin/env bash
set -euo pipefail
kubectl rollout status deployment/worker -n "$NAMESPACE" --timeout="${TIMEOUT:-30s}"
! kubectl get pods -n "$NAMESPACE" -l app=worker --no-headers | grep CrashLoopBackOff >/dev/null
kubectl logs deployment/worker -n "$NAMESPACE" | grep working >/dev/null
