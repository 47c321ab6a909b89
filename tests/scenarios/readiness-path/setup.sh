#!/usr/bin/env bash
set -euo pipefail
kubectl create namespace "$NAMESPACE"
cat <<YAML | kubectl apply -n "$NAMESPACE" -f -
apiVersion: apps/v1
kind: Deployment
metadata: {name: site, labels: {app: site}}
spec:
  replicas: 2
  selector: {matchLabels: {app: site}}
  template:
    metadata: {labels: {app: site}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80}]
        readinessProbe: {httpGet: {path: /healthz, port: 80}, periodSeconds: 2}
YAML
for _ in $(seq 60); do
  kubectl get events -n "$NAMESPACE" --field-selector reason=Unhealthy | grep "statuscode: 404" >/dev/null && exit 0
  sleep 0.5
done
exit 1
