#!/usr/bin/env bash
set -e

# The deployment must still exist
if ! kubectl get deployment orders-api -n orders &>/dev/null; then
  echo "Deployment 'orders-api' does not exist in namespace 'orders'"
  exit 1
fi

# Pods must start and become Ready
if ! kubectl wait --for=condition=Available deployment/orders-api -n orders --timeout=10s; then
  echo "orders-api is not Available"
  exit 1
fi

# The app must see ORDERS_DB_HOST=orders-db (from the ConfigMap or set on the container)
POD=$(kubectl get pods -n orders -l app=orders-api -o go-template='{{range .items}}{{if not .metadata.deletionTimestamp}}{{.metadata.name}}{{"\n"}}{{end}}{{end}}' | head -1)
if ! kubectl logs -n orders "$POD" | grep -q "database host: orders-db"; then
  echo "orders-api does not run with ORDERS_DB_HOST=orders-db"
  kubectl logs -n orders "$POD" || true
  exit 1
fi
echo "orders-api is running with ORDERS_DB_HOST=orders-db"
