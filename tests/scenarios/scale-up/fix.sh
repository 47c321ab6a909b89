#!/usr/bin/env bash
set -euo pipefail
kubectl scale deployment/web --replicas=3 -n "$NAMESPACE"
