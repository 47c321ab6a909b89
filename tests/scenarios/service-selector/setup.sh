#!/usr/bin/env bash
set -euo pipefail
kubectl create namespace "$NAMESPACE"
kubectl create deployment api --image=nginx:1.25 --replicas=2 -n "$NAMESPACE"
kubectl create service clusterip api --tcp=80:80 -n "$NAMESPACE"
kubectl set selector service api app=api-v2 -n "$NAMESPACE"
kubectl rollout status deployment/api -n "$NAMESPACE" --timeout=60s
