#!/usr/bin/env bash
set -euo pipefail
kubectl set resources deployment/batch --requests=cpu=100m -n "$NAMESPACE"
