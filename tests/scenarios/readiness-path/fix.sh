#!/usr/bin/env bash
set -euo pipefail
kubectl patch deployment site -n "$NAMESPACE" -p '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","readinessProbe":{"httpGet":{"path":"/","port":80}}}]}}}}'
