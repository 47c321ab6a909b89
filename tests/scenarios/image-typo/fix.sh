#!/usr/bin/env bash
set -euo pipefail
kubectl set image deployment/shop nginx=nginx:1.25 -n "$NAMESPACE"
