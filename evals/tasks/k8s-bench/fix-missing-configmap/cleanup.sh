#!/usr/bin/env bash
# Clean up all resources
kubectl delete namespace orders --ignore-not-found
