#!/usr/bin/env bash
set -euo pipefail
kubectl create configmap backend-config --from-literal=MODE=production -n "$NAMESPACE"
