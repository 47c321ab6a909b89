#!/usr/bin/env bash
set -euo pipefail
kubectl create namespace bench
kubectl apply -n bench -f artifacts/web.yaml
