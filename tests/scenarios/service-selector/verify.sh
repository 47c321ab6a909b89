#!/usr/bin/env bash
set -euo pipefail
for _ in $(seq 40); do
  n=$(kubectl get endpoints api -n "$NAMESPACE" -o jsonpath='{.subsets[*].addresses[*].ip}' | wc -w)
  [ "$n" = "2" ] && exit 0
  sleep 0.25
done
exit 1
