"""Bad input gets the Status a real API server gives, changes nothing, and the
server keeps serving."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from sandbox.control import Sandbox, token_of

NS = "bad"


@pytest.fixture(scope="module")
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, verify=ssl.create_default_context(cafile=str(sandbox.state / "ca.crt")),
                      headers={"Authorization": f"Bearer {token_of(sandbox.state)}"}) as client:
        reply = client.post("/api/v1/namespaces", json={"metadata": {"name": NS}})
        assert reply.status_code == 201
        yield client


def status(reply: httpx.Response, code: int, reason: str) -> dict[str, object]:
    assert reply.status_code == code, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    body: dict[str, object] = reply.json()
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["code"] == code and body["reason"] == reason
    return body


CM = f"/api/v1/namespaces/{NS}/configmaps"


def count(http: httpx.Client) -> int:
    return len(http.get(CM).json()["items"])


def test_unauthenticated(sandbox: Sandbox) -> None:
    verify = ssl.create_default_context(cafile=str(sandbox.state / "ca.crt"))
    with httpx.Client(base_url=sandbox.url, verify=verify) as anon:
        status(anon.get("/api/v1/namespaces"), 401, "Unauthorized")
        status(anon.get("/api/v1/namespaces", headers={"Authorization": "Bearer wrong"}), 401,
               "Unauthorized")
        assert anon.get("/readyz").text == "ok"


def test_malformed_bodies(http: httpx.Client) -> None:
    before = count(http)
    body = status(http.post(CM, content=b'{"metadata": {"name": "x"',
                            headers={"Content-Type": "application/json"}), 400, "BadRequest")
    assert "JSON" in str(body["message"])
    status(http.post(CM, content=b"metadata: [unclosed", headers={"Content-Type": "application/yaml"}),
           400, "BadRequest")
    status(http.post(CM, content=b"k8s\x00\x0a\x03\x0a\x01", headers={
        "Content-Type": "application/vnd.kubernetes.protobuf"}), 400, "BadRequest")
    status(http.post(CM, content=b"not-k8s-protobuf", headers={
        "Content-Type": "application/vnd.kubernetes.protobuf"}), 400, "BadRequest")
    status(http.post(CM, content=b"<xml/>", headers={"Content-Type": "application/xml"}), 415,
           "UnsupportedMediaType")
    status(http.post(CM, content=b"[1, 2]", headers={"Content-Type": "application/json"}), 400, "BadRequest")
    status(http.patch(f"{CM}/x", content=b"{}", headers={"Content-Type": "text/plain"}), 415,
           "UnsupportedMediaType")
    assert count(http) == before


def test_body_too_large(http: httpx.Client) -> None:
    big = {"metadata": {"name": "big"}, "data": {"blob": "x" * (3 * 1024 * 1024 + 10)}}
    status(http.post(CM, json=big), 413, "RequestEntityTooLarge")
    status(http.get(f"{CM}/big"), 404, "NotFound")


def test_unknown_resources_and_names(http: httpx.Client) -> None:
    status(http.get("/api/v1/namespaces/bad/widgets"), 404, "NotFound")
    status(http.get("/apis/example.com/v1/things"), 404, "NotFound")
    status(http.get("/apis/apps/v9/deployments"), 404, "NotFound")
    body = status(http.get(f"{CM}/missing"), 404, "NotFound")
    assert body["message"] == 'configmaps "missing" not found'
    assert body["details"] == {"name": "missing", "kind": "configmaps"}
    body = status(http.post(CM, json={"metadata": {"name": "Not_A_Name"}}), 422, "Invalid")
    assert "RFC 1123" in str(body["message"])
    status(http.post(CM, json={"metadata": {}}), 422, "Invalid")
    status(http.post(CM, json={"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
           400, "BadRequest")
    status(http.put("/api/v1/namespaces/bad/configmaps", json={}), 405, "MethodNotAllowed")


def test_unknown_fields_and_validation(http: httpx.Client) -> None:
    body = status(http.post(f"{CM}?fieldValidation=Strict", json={"metadata": {"name": "s"}, "dataa": {}}),
                  400, "BadRequest")
    assert 'unknown field "dataa"' in str(body["message"])
    warned = http.post(f"{CM}?fieldValidation=Warn", json={"metadata": {"name": "w"}, "dataa": {}})
    assert warned.status_code == 201 and 'unknown field \\"dataa\\"' in warned.headers["warning"]
    assert "dataa" not in warned.json()
    deploy = {"metadata": {"name": "d"}, "spec": {"replicas": -2, "selector": {"matchLabels": {"a": "b"}},
                                                 "template": {"metadata": {"labels": {"a": "b"}},
                                                              "spec": {"containers": [{"name": "c",
                                                                                       "image": "x"}]}}}}
    body = status(http.post(f"/apis/apps/v1/namespaces/{NS}/deployments", json=deploy), 422, "Invalid")
    assert "spec.replicas" in str(body["message"])
    status(http.get(f"/apis/apps/v1/namespaces/{NS}/deployments/d"), 404, "NotFound")


def test_selectors_and_options(http: httpx.Client) -> None:
    status(http.get(f"{CM}?labelSelector=a%20in%20b"), 400, "BadRequest")
    status(http.get(f"{CM}?fieldSelector=data.x%3Dy"), 400, "BadRequest")
    status(http.get(f"{CM}?continue=garbage"), 400, "BadRequest")
    status(http.post(f"{CM}?dryRun=Some", json={"metadata": {"name": "dr"}}), 400, "BadRequest")


def test_stale_resource_version(http: httpx.Client) -> None:
    created = http.post(CM, json={"metadata": {"name": "rv"}, "data": {"v": "1"}}).json()
    first = dict(created, data={"v": "2"})
    assert http.put(f"{CM}/rv", json=first).status_code == 200
    stale = dict(created, data={"v": "3"})
    body = status(http.put(f"{CM}/rv", json=stale), 409, "Conflict")
    assert "the object has been modified" in str(body["message"])
    assert http.get(f"{CM}/rv").json()["data"] == {"v": "2"}
    already = status(http.post(CM, json={"metadata": {"name": "rv"}}), 409, "AlreadyExists")
    assert already["message"] == 'configmaps "rv" already exists'


def test_server_keeps_serving(http: httpx.Client) -> None:
    assert http.get("/api/v1/namespaces/default").status_code == 200
