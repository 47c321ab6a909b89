#!/usr/bin/env bash
set -euo pipefail
test "$(kubectl get deployment web -n bench -o jsonpath='{.spec.replicas}')" = "3"
