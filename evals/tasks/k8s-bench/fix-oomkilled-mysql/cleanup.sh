#!/usr/bin/env bash
# Clean up all resources
kubectl delete namespace db-team --ignore-not-found
