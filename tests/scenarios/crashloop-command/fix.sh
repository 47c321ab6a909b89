#!/usr/bin/env bash
set -euo pipefail
kubectl patch deployment worker -n "$NAMESPACE" --type=json \
  -p='[{"op":"replace","path":"/spec/template/spec/containers/0/command","value":["sh","-c","while true; do echo working; sleep 5; done"]}]'
