#!/usr/bin/env bash
set -euo pipefail
kubectl create namespace "$NAMESPACE"
kubectl create deployment web --image=nginx:1.25 --replicas=1 -n "$NAMESPACE"
kubectl rollout status deployment/web -n "$NAMESPACE" --timeout=60s
