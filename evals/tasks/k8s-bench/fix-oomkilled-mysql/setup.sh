#!/usr/bin/env bash
set -e

# Delete namespace if it exists
kubectl delete namespace db-team --ignore-not-found

# Create a fresh namespace
kubectl create namespace db-team

# Apply the deployment whose memory limit is too low for MySQL
kubectl apply -f artifacts/mysql.yaml

# Give the container time to start and be OOMKilled at least once
echo "Waiting for the first OOMKilled restart..."
for i in $(seq 1 30); do
  RESTARTS=$(kubectl get pods -n db-team -l app=mysql -o jsonpath='{.items[0].status.containerStatuses[0].restartCount}' 2>/dev/null || true)
  if [[ -n "$RESTARTS" && "$RESTARTS" -ge 1 ]]; then
    echo "Setup successful: mysql has restarted $RESTARTS time(s)"
    exit 0
  fi
  sleep 0.5
done
echo "Unexpected state: mysql did not restart"
exit 1
