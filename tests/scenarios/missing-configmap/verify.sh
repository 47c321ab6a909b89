#!/usr/bin/env bash
set -euo pipefail
kubectl wait pod -l app=backend -n "$NAMESPACE" --for=condition=Ready --timeout="${TIMEOUT:-30s}"
