#!/usr/bin/env bash
set -euo pipefail
kubectl patch deployment gateway -n "$NAMESPACE" -p '{"spec":{"template":{"spec":{"containers":[{"name":"httpd","livenessProbe":{"httpGet":{"path":"/","port":80}}}]}}}}'
