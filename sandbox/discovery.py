"""Legacy discovery documents, ``/version`` and the OpenAPI v3 index.

Clients try aggregated discovery first and fall back to these documents when
the answer is plain ``application/json``, which is what the sandbox sends.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

import orjson

from . import resources
from .resources import SUBRESOURCE_KINDS, ResourceType

Obj = dict[str, Any]

VERSION: Obj = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.4",
    "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335",
    "gitTreeState": "clean",
    "buildDate": "2025-04-22T16:02:27Z",
    "goVersion": "go1.23.6",
    "compiler": "gc",
    "platform": "linux/amd64",
    "emulationMajor": "1",
    "emulationMinor": "32",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "31",
}


def api_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_doc(group: str) -> Obj:
    versions = [
        {"groupVersion": f"{group}/{v}", "version": v} for v in resources.served_versions(group)
    ]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


@cache
def api_group_list() -> Obj:
    groups = [g for g in resources.GROUP_VERSIONS if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group_doc(g) for g in groups]}


def api_group(group: str) -> Obj | None:
    if group not in resources.GROUP_VERSIONS or not group:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group)}


def _entry(res: ResourceType) -> Obj:
    entry: Obj = {
        "name": res.plural,
        "singularName": res.singular,
        "namespaced": res.namespaced,
        "kind": res.kind,
        "verbs": list(res.verbs),
    }
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    if res.categories:
        entry["categories"] = list(res.categories)
    entry["storageVersionHash"] = hashlib.sha256(res.storage_key.encode()).hexdigest()[:11]
    return entry


def _sub_entry(res: ResourceType, sub: str) -> Obj:
    group, version, kind, verbs = SUBRESOURCE_KINDS[sub]
    entry: Obj = {
        "name": f"{res.plural}/{sub}",
        "singularName": "",
        "namespaced": res.namespaced,
        "kind": kind or res.kind,
        "verbs": list(verbs),
    }
    if group:
        entry["group"] = group
        entry["version"] = version
    return entry


@cache
def resource_list(group: str, version: str) -> Obj | None:
    served = resources.in_group_version(group, version)
    if not served:
        return None
    entries: list[Obj] = []
    for res in served:
        entries.append(_entry(res))
        entries.extend(_sub_entry(res, sub) for sub in res.subresources)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}


# --- OpenAPI v3 --------------------------------------------------------------------

def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


@cache
def openapi_doc(group: str, version: str) -> bytes | None:
    """The OpenAPI 3 document of one group version, as bytes.

    Each kind's item path carries a ``patch`` operation with its
    group-version-kind and the ``fieldValidation`` parameter: kubectl and Helm
    read that to learn that the server validates fields itself. Strategic merge
    is left out of the patch content types, so kubectl computes those patches
    from its own compiled-in types.
    """
    served = resources.in_group_version(group, version)
    if not served:
        return None
    paths: Obj = {}
    params = [
        {"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
        for n in ("dryRun", "fieldManager", "fieldValidation", "force")
    ]
    patch_body = {
        "content": {
            t: {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}}
            for t in ("application/json-patch+json", "application/merge-patch+json",
                      "application/apply-patch+yaml")
        },
        "required": True,
    }
    prefix = "/" + _gv_path(group, version)
    for res in served:
        gvk = {"group": group, "version": version, "kind": res.kind}
        ns = "/namespaces/{namespace}" if res.namespaced else ""
        item = f"{prefix}{ns}/{res.plural}/{{name}}"
        collection = f"{prefix}{ns}/{res.plural}"
        op_id = f"{res.kind}{version}"
        if "patch" in res.verbs:
            paths[item] = {
                "patch": {
                    "operationId": f"patch{op_id}",
                    "parameters": params,
                    "requestBody": patch_body,
                    "responses": {"200": {"description": "OK"}},
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": gvk,
                },
                "get": {"operationId": f"read{op_id}", "x-kubernetes-action": "get",
                        "x-kubernetes-group-version-kind": gvk,
                        "responses": {"200": {"description": "OK"}}},
            }
        paths[collection] = {
            "post": {
                "operationId": f"create{op_id}",
                "parameters": params,
                "responses": {"201": {"description": "Created"}},
                "x-kubernetes-action": "post",
                "x-kubernetes-group-version-kind": gvk,
            }
        }
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {"io.k8s.apimachinery.pkg.apis.meta.v1.Patch": {
            "type": "object", "description": "Patch is provided to give a concrete name and type "
                                             "to the Kubernetes PATCH request body."}}},
    }
    return orjson.dumps(doc)


def openapi_hash(group: str, version: str) -> str:
    doc = openapi_doc(group, version) or b""
    return hashlib.sha512(doc).hexdigest()[:64].upper()


@cache
def openapi_index() -> Obj:
    paths: Obj = {}
    for group, versions in resources.GROUP_VERSIONS.items():
        for version in versions:
            gv = _gv_path(group, version)
            paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={openapi_hash(group, version)}"}
    return {"paths": paths}
