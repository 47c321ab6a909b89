#!/usr/bin/env bash
set -euo pipefail
kubectl set image deployment/store redis=redis:7.4 -n "$NAMESPACE"
