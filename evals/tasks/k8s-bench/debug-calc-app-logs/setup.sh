#!/usr/bin/env bash
set -e

# Delete namespace if it exists
kubectl delete namespace calc --ignore-not-found

# Create a fresh namespace
kubectl create namespace calc

# Deploy an app that runs fine but fails some of its requests
kubectl apply -f artifacts/calc-app.yaml

# Wait for the pod to run and log a few requests
kubectl rollout status deployment/calc-app -n calc --timeout=60s
sleep 1
