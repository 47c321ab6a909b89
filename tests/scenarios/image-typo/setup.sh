#!/usr/bin/env bash
set -euo pipefail
kubectl create namespace "$NAMESPACE"
kubectl create deployment shop --image=nginx:1.25-typo -n "$NAMESPACE"
kubectl wait pod -l app=shop -n "$NAMESPACE" --for=jsonpath='{.status.containerStatuses[0].state.waiting.reason}'=ImagePullBackOff --timeout=60s
