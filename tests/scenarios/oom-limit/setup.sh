#!/usr/bin/env bash
set -euo pipefail
kubectl create namespace "$NAMESPACE"
cat <<YAML | kubectl apply -n "$NAMESPACE" -f -
apiVersion: apps/v1
kind: Deployment
metadata: {name: cache, labels: {app: cache}}
spec:
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache}}
    spec:
      containers:
      - name: redis
        image: redis:7.4
        resources: {limits: {memory: 4Mi}, requests: {memory: 4Mi}}
YAML
kubectl wait pod -l app=cache -n "$NAMESPACE" --for=jsonpath='{.status.containerStatuses[0].lastState.terminated.reason}'=OOMKilled --timeout=60s
