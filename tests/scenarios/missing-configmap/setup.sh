#!/usr/bin/env bash
set -euo pipefail
kubectl create namespace "$NAMESPACE"
cat <<YAML | kubectl apply -n "$NAMESPACE" -f -
apiVersion: apps/v1
kind: Deployment
metadata: {name: backend, labels: {app: backend}}
spec:
  selector: {matchLabels: {app: backend}}
  template:
    metadata: {labels: {app: backend}}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        envFrom: [{configMapRef: {name: backend-config}}]
YAML
kubectl wait pod -l app=backend -n "$NAMESPACE" --for=jsonpath='{.status.containerStatuses[0].state.waiting.reason}'=CreateContainerConfigError --timeout=60s
