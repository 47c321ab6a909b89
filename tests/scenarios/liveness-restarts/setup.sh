#!/usr/bin/env bash
set -euo pipefail
kubectl create namespace "$NAMESPACE"
cat <<YAML | kubectl apply -n "$NAMESPACE" -f -
apiVersion: apps/v1
kind: Deployment
metadata: {name: gateway, labels: {app: gateway}}
spec:
  selector: {matchLabels: {app: gateway}}
  template:
    metadata: {labels: {app: gateway}}
    spec:
      containers:
      - name: httpd
        image: httpd:2.4
        livenessProbe: {httpGet: {path: /status, port: 80}, periodSeconds: 2, failureThreshold: 2}
YAML
kubectl wait pod -l app=gateway -n "$NAMESPACE" --for=jsonpath='{.status.containerStatuses[0].restartCount}'=1 --timeout=60s
