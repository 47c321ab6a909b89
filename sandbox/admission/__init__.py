"""Admission plugins of the sandbox API server, as kube-apiserver enables them.

Each plugin is a ``Registry.admission`` callable ``(registry, resource, new, old)``
that may mutate ``new`` (defaults) or raise a :class:`~sandbox.errors.StatusError`:

- :mod:`.limitranges`: LimitRanger (defaults and constraints of LimitRanges);
- :mod:`.storage`: DefaultStorageClass, StorageObjectInUseProtection and
  PersistentVolumeClaimResize;
- :mod:`.quotas`: ResourceQuota (constraints and usage against ``hard``).
"""
