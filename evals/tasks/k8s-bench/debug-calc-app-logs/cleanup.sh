#!/usr/bin/env bash
# Clean up all resources
kubectl delete namespace calc --ignore-not-found
