#!/usr/bin/env bash
set -euo pipefail
kubectl set resources deployment/cache -c redis --limits=memory=64Mi --requests=memory=32Mi -n "$NAMESPACE"
