#!/usr/bin/env bash
set -euo pipefail
kubectl set selector service api app=api -n "$NAMESPACE"
