#!/usr/bin/env bash
set -euo pipefail
kubectl create namespace "$NAMESPACE"
kubectl create deployment web --image=nginx:1.25 -n "$NAMESPACE"
kubectl expose deployment web --port=80 --target-port=8080 -n "$NAMESPACE"
kubectl rollout status deployment/web -n "$NAMESPACE" --timeout=60s
