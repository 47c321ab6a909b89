#!/usr/bin/env bash
set -euo pipefail
kubectl rollout status deployment/store -n "$NAMESPACE" --timeout="${TIMEOUT:-30s}"
[ "$(kubectl get deployment store -n "$NAMESPACE" -o jsonpath='{.status.updatedReplicas}')" = "4" ]
[ "$(kubectl get rs -n "$NAMESPACE" -l app=store -o jsonpath='{.items[?(@.spec.replicas>0)].spec.template.spec.containers[0].image}')" = "redis:7.4" ]
