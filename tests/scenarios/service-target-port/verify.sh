#!/usr/bin/env bash
set -euo pipefail
for _ in $(seq 40); do
  port=$(kubectl get endpoints web -n "$NAMESPACE" -o jsonpath='{.subsets[0].ports[0].port}')
  [ "$port" = "80" ] && exit 0
  sleep 0.25
done
exit 1
