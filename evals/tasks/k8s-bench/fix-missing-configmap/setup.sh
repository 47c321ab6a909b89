#!/usr/bin/env bash
set -e

# Delete namespace if it exists
kubectl delete namespace orders --ignore-not-found

# Create a fresh namespace
kubectl create namespace orders

# Apply the deployment that refers to a ConfigMap nobody created
kubectl apply -f artifacts/orders-api.yaml

# Wait until the kubelet reports the configuration error
echo "Waiting for CreateContainerConfigError..."
for i in $(seq 1 30); do
  REASON=$(kubectl get pods -n orders -l app=orders-api -o jsonpath='{.items[0].status.containerStatuses[0].state.waiting.reason}' 2>/dev/null || true)
  if [[ "$REASON" == "CreateContainerConfigError" ]]; then
    echo "Setup successful: pods wait with $REASON"
    exit 0
  fi
  sleep 0.5
done
echo "Unexpected state: no CreateContainerConfigError (last reason: ${REASON:-none})"
exit 1
