"""A container's environment and mounted files, resolved from the pod spec, ConfigMaps
and Secrets as a kubelet does it; a missing object or key is a
CreateContainerConfigError with the kubelet's message."""

from __future__ import annotations

import base64
from typing import Any

from ..store import Store

Obj = dict[str, Any]


class ConfigError(Exception):
    """The container cannot be configured; the message is the kubelet's."""


def _source(store: Store, kind: str, namespace: str, name: str) -> dict[str, str] | None:
    if kind == "ConfigMap":
        cm = store.get("configmaps", namespace, name)
        if cm is None:
            return None
        data = dict(cm.get("data") or {})
        for key, value in (cm.get("binaryData") or {}).items():
            data[key] = base64.b64decode(value).decode(errors="replace")
        return data
    secret = store.get("secrets", namespace, name)
    if secret is None:
        return None
    return {k: base64.b64decode(v).decode(errors="replace") for k, v in (secret.get("data") or {}).items()}


def _field(pod: Obj, path: str) -> str:
    meta = pod.get("metadata") or {}
    simple = {
        "metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""), "spec.nodeName": (pod.get("spec") or {}).get("nodeName", ""),
        "spec.serviceAccountName": (pod.get("spec") or {}).get("serviceAccountName", ""),
        "status.podIP": (pod.get("status") or {}).get("podIP", ""),
        "status.hostIP": (pod.get("status") or {}).get("hostIP", ""),
    }
    if path in simple:
        return str(simple[path])
    for prefix, source in (("metadata.labels", meta.get("labels") or {}),
                           ("metadata.annotations", meta.get("annotations") or {})):
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str(source.get(path[len(prefix) + 2:-2], ""))
    return ""


def environment(store: Store, pod: Obj, container: Obj) -> dict[str, str]:
    namespace = pod["metadata"].get("namespace", "")
    env: dict[str, str] = {"HOSTNAME": pod["metadata"]["name"],
                           "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                           "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    for source in container.get("envFrom") or []:
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            ref = source.get(key)
            if not ref:
                continue
            data = _source(store, kind, namespace, ref.get("name", ""))
            if data is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f'{kind.lower()} "{ref.get("name")}" not found')
            prefix = source.get("prefix", "")
            env.update({prefix + k: v for k, v in data.items()})
    for var in container.get("env") or []:
        if "value" in var or "valueFrom" not in var:
            env[var["name"]] = _expand(str(var.get("value", "")), env)
            continue
        value_from = var["valueFrom"]
        for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            ref = value_from.get(key)
            if not ref:
                continue
            data = _source(store, kind, namespace, ref.get("name", ""))
            if data is None or ref.get("key") not in data:
                if ref.get("optional"):
                    break
                if data is None:
                    raise ConfigError(f'{kind.lower()} "{ref.get("name")}" not found')
                raise ConfigError(f"couldn't find key {ref.get('key')} in {kind} {namespace}/{ref.get('name')}")
            env[var["name"]] = data[ref["key"]]
        if "fieldRef" in value_from:
            env[var["name"]] = _field(pod, value_from["fieldRef"].get("fieldPath", ""))
        if "resourceFieldRef" in value_from:
            resource = value_from["resourceFieldRef"].get("resource", "")
            group, _, name = resource.partition(".")
            env[var["name"]] = str(((container.get("resources") or {}).get(group) or {}).get(name, "0"))
    return env


def _expand(value: str, env: dict[str, str]) -> str:
    for key, val in env.items():
        value = value.replace(f"$({key})", val)
    return value


def files(store: Store, pod: Obj, container: Obj) -> dict[str, str]:
    """Files of mounted ConfigMap and Secret volumes, by path."""
    namespace = pod["metadata"].get("namespace", "")
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or []}
    found: dict[str, str] = {}
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount.get("name")) or {}
        for kind, key, name_key in (("ConfigMap", "configMap", "name"), ("Secret", "secret", "secretName")):
            ref = volume.get(key)
            if not ref:
                continue
            data = _source(store, kind, namespace, ref.get(name_key, ""))
            if data is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f'{kind.lower()} "{ref.get(name_key)}" not found')
            items = ref.get("items")
            chosen = {i["key"]: i.get("path", i["key"]) for i in items} if items else {k: k for k in data}
            base = mount.get("mountPath", "").rstrip("/")
            sub = mount.get("subPath")
            for data_key, rel in chosen.items():
                if data_key not in data:
                    continue
                if sub:
                    if rel == sub:
                        found[base] = data[data_key]
                else:
                    found[f"{base}/{rel}"] = data[data_key]
    return found
