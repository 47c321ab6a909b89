#!/usr/bin/env bash
set -euo pipefail
kubectl create namespace "$NAMESPACE"
kubectl create deployment worker --image=busybox:1.36 -n "$NAMESPACE" -- sh -c 'echo "config missing"; exit 1'
for _ in $(seq 60); do
  kubectl get pods -n "$NAMESPACE" -l app=worker | grep CrashLoopBackOff >/dev/null && exit 0
  sleep 0.5
done
exit 1
