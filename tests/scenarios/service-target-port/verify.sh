#!/usr/bin/env bash
set -euo pipefail
timeout=${TIMEOUT:-30s}
deadline=$((SECONDS + ${timeout%s}))
while :; do
  port=$(kubectl get endpoints web -n "$NAMESPACE" -o jsonpath='{.subsets[0].ports[0].port}')
  [ "$port" = "80" ] && exit 0
  [ "$SECONDS" -lt "$deadline" ] || exit 1
  sleep 0.25
done
