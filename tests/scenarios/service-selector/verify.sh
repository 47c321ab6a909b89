#!/usr/bin/env bash
set -euo pipefail
timeout=${TIMEOUT:-30s}
deadline=$((SECONDS + ${timeout%s}))
while :; do
  n=$(kubectl get endpoints api -n "$NAMESPACE" -o jsonpath='{.subsets[*].addresses[*].ip}' | wc -w)
  [ "$n" = "2" ] && exit 0
  [ "$SECONDS" -lt "$deadline" ] || exit 1
  sleep 0.25
done
