#!/usr/bin/env bash
set -e

# The deployment must still exist: deleting it is not a fix
if ! kubectl get deployment mysql -n db-team &>/dev/null; then
  echo "Deployment 'mysql' does not exist in namespace 'db-team'"
  exit 1
fi

LIMIT=$(kubectl get deployment mysql -n db-team -o jsonpath='{.spec.template.spec.containers[0].resources.limits.memory}')
echo "memory limit: ${LIMIT:-none}"
if [[ "$LIMIT" == "256Mi" ]]; then
  echo "The memory limit is unchanged (256Mi), too low for MySQL"
  exit 1
fi

# The rollout must finish and the pod become Ready
if ! kubectl rollout status deployment/mysql -n db-team --timeout=10s; then
  echo "The mysql rollout did not complete"
  exit 1
fi
if ! kubectl wait --for=condition=Available deployment/mysql -n db-team --timeout=10s; then
  echo "The mysql deployment is not Available"
  exit 1
fi

# Let the pod run a while: a limit that is still too low shows up as a restart
sleep 2
RESTARTS=$(kubectl get pods -n db-team -l app=mysql -o go-template='{{range .items}}{{if not .metadata.deletionTimestamp}}{{range .status.containerStatuses}}{{.restartCount}} {{end}}{{end}}{{end}}')
echo "restarts of the current pods: ${RESTARTS:-none}"
for r in $RESTARTS; do
  if [[ "$r" -gt 0 ]]; then
    echo "The current mysql pod restarted (still OOMKilled?)"
    exit 1
  fi
done
echo "mysql is running with a sufficient memory limit"
