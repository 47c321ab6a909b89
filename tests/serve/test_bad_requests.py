"""Requests ``kai serve`` must refuse, and how: a bad, missing or stale Slack signature (401),
a replayed request (409) and Slack's own retries (200, never run twice), the wrong content type
(415), a body over 1 MiB (413, whatever its Content-Length says), malformed payloads (400), a
response URL elsewhere (400), channels and users the policy does not know (403, or the viewer
role), and the JSON API's token and body checks. A refused request leaves no trace: nothing in
the inbox, no audit row, no post to a response URL."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from app.serve.settings import MAX_BODY, MAX_PROMPT
from sandbox import control
from tests.conftest import Kubectl, replicas

from .conftest import POLICY
from .requests_util import audit, idle, inbox, nothing_happens, raw_post, start_serve
from .slack import SECRET, TOKEN, KaiServer, ResponseUrls, button, command, sign, text_of

COMMANDS, INTERACTIONS = "/slack/commands", "/slack/interactions"


def command_fields(hook: str, slack: ResponseUrls, **changes: str | None) -> dict[str, str]:
    """A slash command's fields, with ``changes`` (None: leave the field out)."""
    fields: dict[str, str | None] = {
        "token": "unused", "team_id": "T1", "team_domain": "acme", "channel_id": "C1", "channel_name": "ops",
        "user_id": "UOPS", "user_name": "uops", "command": "/kai", "text": "show pods", "api_app_id": "A1",
        "response_url": slack.url(hook), "trigger_id": f"trig-{hook}-{time.monotonic_ns()}"}
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def click_payload(hook: str, slack: ResponseUrls, **changes: object) -> dict[str, object]:
    """A block_actions payload pressing Approve on an approval that does not exist, with ``changes``."""
    payload: dict[str, object] = json.loads(dict(parse_qsl(button("nosuch", "kai_approve", hook, slack).decode()))
                                            ["payload"])
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def interaction(payload: object) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed_post(kai: KaiServer, path: str, body: bytes, **headers: str) -> httpx.Response:
    return kai.post(path, body, {**sign(body), **headers})


def refused(response: httpx.Response, status: int, words: str = "") -> None:
    assert response.status_code == status, response.text
    error = response.json()
    assert set(error) == {"error", "message"} and words.lower() in error["message"].lower(), error


def bodies(slack: ResponseUrls, hook: str) -> dict[str, bytes]:
    """A valid command and a valid click, for the checks that come before the payload is read."""
    return {COMMANDS: command("show pods", hook, slack), INTERACTIONS: button("nosuch", "kai_approve", hook, slack)}


ENDPOINTS = pytest.mark.parametrize("path", [COMMANDS, INTERACTIONS])

# --- the signature -----------------------------------------------------------------------

Forge = Callable[[bytes], tuple[bytes, dict[str, str]]]


def _wrong_secret(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, sign(body, secret="not-the-" + SECRET)


def _body_changed(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body + b"&channel_name=other", sign(body)


def _timestamp_changed(body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = sign(body)
    return body, {**headers, "X-Slack-Request-Timestamp": str(int(headers["X-Slack-Request-Timestamp"]) - 1)}


def _zeros(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, {**sign(body), "X-Slack-Signature": "v0=" + "0" * 64}


def _no_version(body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = sign(body)
    return body, {**headers, "X-Slack-Signature": headers["X-Slack-Signature"].removeprefix("v0=")}


def _other_version(body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = sign(body)
    return body, {**headers, "X-Slack-Signature": "v1=" + headers["X-Slack-Signature"].removeprefix("v0=")}


@ENDPOINTS
@pytest.mark.parametrize("forge", [_wrong_secret, _body_changed, _timestamp_changed, _zeros, _no_version,
                                   _other_version], ids=lambda f: f.__name__.strip("_"))
def test_a_wrong_signature_is_401(kai: KaiServer, slack: ResponseUrls, path: str, forge: Forge) -> None:
    body, headers = forge(bodies(slack, "forged")[path])
    with nothing_happens(kai, slack):
        refused(kai.post(path, body, headers), 401, "invalid Slack signature")


@ENDPOINTS
@pytest.mark.parametrize("missing", [("X-Slack-Signature",), ("X-Slack-Request-Timestamp",),
                                     ("X-Slack-Signature", "X-Slack-Request-Timestamp")], ids=lambda m: "+".join(m))
def test_missing_signature_headers_are_401(kai: KaiServer, slack: ResponseUrls, path: str,
                                           missing: tuple[str, ...]) -> None:
    body = bodies(slack, "unsigned")[path]
    headers = {k: v for k, v in sign(body).items() if k not in missing}
    with nothing_happens(kai, slack):
        refused(kai.post(path, body, headers), 401, "missing Slack signature headers")


@ENDPOINTS
@pytest.mark.parametrize("offset", [-305, -3600, 305, -10**9], ids=["5min5s-old", "1h-old", "5min5s-ahead", "1970"])
def test_a_stale_timestamp_is_401_even_when_signed(kai: KaiServer, slack: ResponseUrls, path: str,
                                                   offset: int) -> None:
    body = bodies(slack, "stale")[path]
    with nothing_happens(kai, slack):
        refused(kai.post(path, body, sign(body, stamp=max(0, int(time.time()) + offset))), 401, "stale")


@pytest.mark.parametrize("stamp", [b"abc", b"-5", b"+1700000000", b"1.5e9", b"0x65", "²".encode("latin-1"),
                                   "1700000000²".encode("latin-1"), b"9" * 5000],
                         ids=["letters", "negative", "plus", "float", "hex", "superscript", "ends superscript",
                              "5000 digits"])
def test_a_timestamp_that_is_not_a_number_is_401(kai: KaiServer, slack: ResponseUrls, stamp: bytes) -> None:
    body = command("show pods", "badstamp", slack)
    headers = {k.encode(): v.encode() for k, v in sign(body).items()}
    headers[b"X-Slack-Request-Timestamp"] = stamp
    with nothing_happens(kai, slack):
        response = httpx.post(kai.url + COMMANDS, content=body, headers=headers, timeout=30)
        refused(response, 401, "timestamp")


# --- replays and Slack's retries ---------------------------------------------------------------


def test_a_replayed_command_is_409_and_runs_once(kai: KaiServer, slack: ResponseUrls) -> None:
    body = command("show pods", "replay", slack, user="UREPLAY")
    headers = sign(body)
    first = kai.post(COMMANDS, body, headers)
    assert first.status_code == 200 and "Working on it" in first.json()["text"]
    again = kai.post(COMMANDS, body, headers)  # the very same bytes and headers
    refused(again, 409, "replayed")
    [answer] = slack.wait("replay", 1)
    assert "todo-backend" in text_of(answer)
    rows = [row for row in idle(kai) if row.identity == "slack:T1/UREPLAY"]
    assert [row.state for row in rows] == ["done"]
    calls = audit(kai, caller="slack:T1/UREPLAY")
    assert calls and {call.session for call in calls} == {calls[0].session}  # one run
    time.sleep(0.5)
    assert len(slack.messages("replay")) == 1


def test_a_replayed_click_is_409_and_answered_once(kai: KaiServer, slack: ResponseUrls) -> None:
    body = button("nosuch", "kai_approve", "replay-click", slack)
    headers = sign(body)
    assert kai.post(INTERACTIONS, body, headers).status_code == 200
    refused(kai.post(INTERACTIONS, body, headers), 409, "replayed")
    [notice] = slack.wait("replay-click", 1)
    assert notice["response_type"] == "ephemeral" and "nosuch" in text_of(notice)
    idle(kai)
    time.sleep(0.5)
    assert len(slack.messages("replay-click")) == 1


def test_slack_retries_are_acknowledged_and_never_run_twice(kai: KaiServer, slack: ResponseUrls) -> None:
    body = command("show pods", "retry", slack, user="URETRY", trigger="trig-retry-1")
    assert signed_post(kai, COMMANDS, body).status_code == 200
    for number, reason in ((1, "http_timeout"), (2, "http_error")):  # newly signed, as Slack does
        retry = kai.post(COMMANDS, body, {**sign(body, stamp=int(time.time()) - number),
                                          "X-Slack-Retry-Num": str(number), "X-Slack-Retry-Reason": reason})
        assert retry.status_code == 200, retry.text
    slack.wait("retry", 1)
    assert [row.state for row in idle(kai) if row.identity == "slack:T1/URETRY"] == ["done"]
    time.sleep(0.5)
    assert len(slack.messages("retry")) == 1
    # the same trigger without the retry header is a replay
    refused(signed_post(kai, COMMANDS, body), 409, "replayed")


def test_a_retry_of_a_command_kai_never_saw_runs_once(kai: KaiServer, slack: ResponseUrls) -> None:
    body = command("show pods", "first-retry", slack, user="URETRY2", trigger="trig-retry-2")
    response = signed_post(kai, COMMANDS, body, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert response.status_code == 200 and "Working on it" in response.json()["text"]
    slack.wait("first-retry", 1)
    assert [row.state for row in idle(kai) if row.identity == "slack:T1/URETRY2"] == ["done"]


# --- content type and size ---------------------------------------------------------------


@ENDPOINTS
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "multipart/form-data; boundary=x", None])
def test_another_content_type_is_415(kai: KaiServer, slack: ResponseUrls, path: str,
                                     content_type: str | None) -> None:
    fields = (command_fields("json", slack) if path == COMMANDS
              else {"payload": json.dumps(click_payload("json", slack))})
    body = json.dumps(fields).encode() if content_type == "application/json" else bodies(slack, "json")[path]
    headers = {k: v for k, v in sign(body).items() if k != "Content-Type"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    with nothing_happens(kai, slack):
        response = httpx.post(kai.url + path, content=body, headers=headers, timeout=30)
        refused(response, 415, "expected application/x-www-form-urlencoded")


def big_command(slack: ResponseUrls, size: int) -> bytes:
    """A slash command body of exactly ``size`` bytes (its text padded)."""
    body = command("", "big", slack)
    return body.replace(b"text=", b"text=" + b"x" * (size - len(body)), 1)


@ENDPOINTS
def test_a_body_over_1_mib_is_413_even_when_signed(kai: KaiServer, slack: ResponseUrls, path: str) -> None:
    body = big_command(slack, MAX_BODY + 1)
    if path == INTERACTIONS:
        body = b"payload=" + b"x" * (MAX_BODY + 1 - len(b"payload="))
    assert len(body) == MAX_BODY + 1
    with nothing_happens(kai, slack):
        refused(kai.post(path, body, sign(body)), 413, "over")


def test_a_body_of_exactly_1_mib_is_read(kai: KaiServer, slack: ResponseUrls) -> None:
    body = big_command(slack, MAX_BODY)
    headers = {**sign(body), "X-Slack-Signature": "v0=" + "0" * 64}  # read, then refused for its signature
    with nothing_happens(kai, slack):
        refused(kai.post(COMMANDS, body, headers), 401, "signature")


def test_a_streamed_body_over_1_mib_without_content_length_is_413(kai: KaiServer, slack: ResponseUrls) -> None:
    body = big_command(slack, 3 * MAX_BODY)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start:start + 64 * 1024]

    with nothing_happens(kai, slack), httpx.Client(timeout=30) as client:
        request = client.build_request("POST", kai.url + COMMANDS, content=chunks(), headers=sign(body))
        assert "content-length" not in request.headers and request.headers["transfer-encoding"] == "chunked"
        try:
            response = client.send(request)
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
            return  # the server stopped reading and closed: refused just the same
        refused(response, 413, "over")


def test_a_content_length_that_claims_too_much_is_413(kai: KaiServer, slack: ResponseUrls) -> None:
    body = command("show pods", "lying", slack)
    headers = {**sign(body), "Content-Length": str(MAX_BODY + 1)}
    with nothing_happens(kai, slack):
        assert raw_post(kai, COMMANDS, headers, body) == 413


@pytest.mark.parametrize("length", ["9" * 30, "9" * 5000, "-1", "1e3", "0x10", "²"])
def test_a_content_length_that_is_not_a_length_is_refused(kai: KaiServer, slack: ResponseUrls, length: str) -> None:
    body = command("show pods", "odd-length", slack)
    with nothing_happens(kai, slack):
        assert raw_post(kai, COMMANDS, {**sign(body), "Content-Length": length}, body) in (400, 413)


def test_a_content_length_that_claims_too_little_is_refused(kai: KaiServer, slack: ResponseUrls) -> None:
    body = command("show pods", "lying-short", slack)
    headers = {**sign(body), "Content-Length": str(len(body) // 2)}  # the signature covers the whole body
    with nothing_happens(kai, slack, settle=0.5):
        assert raw_post(kai, COMMANDS, headers, body + b"x" * (2 * MAX_BODY)) in (400, 401)


# --- malformed payloads --------------------------------------------------------------------

MALFORMED_CLICKS: dict[str, object] = {
    "not JSON": "{not json",
    "a JSON list": [],
    "a JSON string": "block_actions",
    "not block_actions": {"type": "view_submission"},
    "no type": {"type": None},
    "no actions": {"actions": None},
    "empty actions": {"actions": []},
    "action not an object": {"actions": ["kai_approve"]},
    "unknown action_id": {"actions": [{"action_id": "kai_delete_everything", "value": "nosuch"}]},
    "no action value": {"actions": [{"action_id": "kai_approve"}]},
    "no user": {"user": None},
    "no team": {"user": {"id": "UADMIN"}, "team": None},
    "no response_url": {"response_url": None},
    "user id a number": {"user": {"id": 7, "team_id": "T1"}},
}


def _malformed_click(slack: ResponseUrls, case: str) -> bytes:
    change = MALFORMED_CLICKS[case]
    if isinstance(change, dict):
        return interaction(click_payload("malformed", slack, **change))
    if isinstance(change, str) and case == "not JSON":
        return urlencode({"payload": change}).encode()
    return interaction(change)


@pytest.mark.parametrize("case", list(MALFORMED_CLICKS))
def test_a_malformed_interaction_is_400(kai: KaiServer, slack: ResponseUrls, case: str) -> None:
    with nothing_happens(kai, slack):
        refused(signed_post(kai, INTERACTIONS, _malformed_click(slack, case)), 400, "malformed")


@pytest.mark.parametrize("body", [b"", b"other=1", b"payload=", b"payload=1&payload=2", b"payload", b"a=1&&b"],
                         ids=["empty", "no payload", "empty payload", "payload twice", "field without value",
                              "empty field"])
def test_an_interaction_without_one_readable_payload_is_400(kai: KaiServer, slack: ResponseUrls,
                                                            body: bytes) -> None:
    with nothing_happens(kai, slack):
        refused(signed_post(kai, INTERACTIONS, body), 400, "malformed")


@pytest.mark.parametrize("changes", [{"user_id": None}, {"user_id": ""}, {"team_id": None}, {"response_url": None},
                                     {"response_url": ""}],
                         ids=["no user_id", "empty user_id", "no team_id", "no response_url", "empty response_url"])
def test_a_command_missing_a_field_is_400(kai: KaiServer, slack: ResponseUrls, changes: dict[str, str | None]) -> None:
    body = urlencode(command_fields("missing", slack, **changes)).encode()
    with nothing_happens(kai, slack):
        refused(signed_post(kai, COMMANDS, body), 400, "missing")


@pytest.mark.parametrize("field", ["text", "user_id", "response_url"])
def test_a_command_with_a_field_given_twice_is_400(kai: KaiServer, slack: ResponseUrls, field: str) -> None:
    fields = command_fields("twice", slack)
    other = {"text": "scale backend to 9", "user_id": "UADMIN", "response_url": slack.url("twice-other")}[field]
    body = urlencode([*fields.items(), (field, other)]).encode()
    with nothing_happens(kai, slack):
        refused(signed_post(kai, COMMANDS, body), 400, "more than once")


def test_a_command_that_is_not_a_form_is_400(kai: KaiServer, slack: ResponseUrls) -> None:
    with nothing_happens(kai, slack):
        refused(signed_post(kai, COMMANDS, b"team_id=T1&garbage"), 400, "malformed")


@ENDPOINTS
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_a_body_that_is_not_utf8_is_refused(kai: KaiServer, slack: ResponseUrls, path: str, signed: bool) -> None:
    body = {COMMANDS: b"team_id=T1&user_id=\xff&response_url=x", INTERACTIONS: b"payload=\xff\xfe"}[path]
    headers = sign(body) if signed else {**sign(body), "X-Slack-Signature": "v0=" + "0" * 64}
    with nothing_happens(kai, slack):
        response = kai.post(path, body, headers)
        assert response.status_code in (400, 401), response.text


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_a_payload_nested_too_deep_is_400(kai: KaiServer, slack: ResponseUrls, depth: int) -> None:
    body = urlencode({"payload": "[" * depth + "]" * depth}).encode()
    with nothing_happens(kai, slack):
        refused(signed_post(kai, INTERACTIONS, body), 400, "malformed")


# --- where replies go, channels and users ---------------------------------------------------

ELSEWHERE = ["https://evil.example/hooks/x", "http://localhost.evil.example/x", "http://127.0.0.1.nip.io/x",
             "http://127.0.0.1@evil.example/x", "http://evil.example#@127.0.0.1/x", "ftp://127.0.0.1/x",
             "file:///etc/passwd", "/hooks/relative", "not a url", "http://[::1]/x", "https://hooks.slack.com/x"]


@ENDPOINTS
@pytest.mark.parametrize("url", ELSEWHERE)
def test_a_response_url_elsewhere_is_400(kai: KaiServer, slack: ResponseUrls, path: str, url: str) -> None:
    if path == COMMANDS:
        body = urlencode(command_fields("elsewhere", slack, response_url=url)).encode()
    else:
        body = interaction(click_payload("elsewhere", slack, response_url=url))
    with nothing_happens(kai, slack):
        refused(signed_post(kai, path, body), 400, "response_url")


@ENDPOINTS
@pytest.mark.parametrize("channel", [("C9", "random"), ("C9", "ops"), ("C1x", "xops-a"), ("c1", "OPS-A"), ("", "")],
                         ids=["other", "name ops", "near misses", "other case", "none"])
def test_an_unknown_channel_is_403(kai: KaiServer, slack: ResponseUrls, path: str,
                                   channel: tuple[str, str]) -> None:
    channel_id, name = channel
    if path == COMMANDS:
        body = urlencode(command_fields("channel", slack, channel_id=channel_id, channel_name=name)).encode()
    else:
        body = interaction(click_payload("channel", slack, channel={"id": channel_id, "name": name}))
    with nothing_happens(kai, slack):
        refused(signed_post(kai, path, body), 403, "channel")


def test_a_channel_allowed_by_name_pattern_is_answered(kai: KaiServer, slack: ResponseUrls) -> None:
    body = urlencode(command_fields("by-name", slack, channel_id="C77", channel_name="ops-east")).encode()
    assert signed_post(kai, COMMANDS, body).status_code == 200
    assert "todo-backend" in text_of(slack.wait("by-name", 1)[0])
    idle(kai)


def test_an_unknown_user_reads_as_a_viewer_and_cannot_write(kai: KaiServer, slack: ResponseUrls, namespace: str,
                                                            kc: Kubectl) -> None:
    assert signed_post(kai, COMMANDS, command("show pods", "stranger-read", slack, user="USTRANGER")).status_code == 200
    [answer] = slack.wait("stranger-read", 1)
    assert "todo-backend" in text_of(answer) and "✅" in text_of(answer)
    before = replicas(kc, namespace)
    body = command(f"scale backend to {before + 4} in {namespace}", "stranger-write", slack, user="USTRANGER")
    assert signed_post(kai, COMMANDS, body).status_code == 200
    [refusal] = slack.wait("stranger-write", 1)
    idle(kai)
    time.sleep(0.5)
    assert len(slack.messages("stranger-write")) == 1, "no approval message for a write the policy denies"
    assert "⛔" in text_of(refusal), text_of(refusal)
    assert replicas(kc, namespace) == before
    [scale] = audit(kai, caller="slack:T1/USTRANGER", tool="scale")
    assert (scale.decision, scale.outcome) == ("deny", "denied")
    assert not [row for row in audit(kai, caller="slack:T1/USTRANGER") if row.outcome == "ok" and row.risk != "read"]


@pytest.fixture(scope="module")
def closed_kai(cluster: control.Sandbox, namespace: str,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[KaiServer]:
    """A ``kai serve`` whose policy gives unknown identities no role (``default_role: null``)."""
    policy = POLICY.format(ttl=600).replace("default_role: viewer", "default_role: null")
    assert "default_role: null" in policy
    server = start_serve(cluster, tmp_path_factory.mktemp("closed"), namespace, policy)
    yield server
    server.stop()


@ENDPOINTS
def test_without_a_default_role_an_unknown_user_is_403(closed_kai: KaiServer, slack: ResponseUrls,
                                                       path: str) -> None:
    if path == COMMANDS:
        body = command("show pods", "nobody", slack, user="UNOBODY")
    else:
        body = button("nosuch", "kai_approve", "nobody", slack, user="UNOBODY")
    with nothing_happens(closed_kai, slack, settle=0.5):
        refused(signed_post(closed_kai, path, body), 403, "no role")
    assert not [row for row in inbox(closed_kai) if "UNOBODY" in row.identity]
    assert not audit(closed_kai, caller="slack:T1/UNOBODY")
    # a user the policy binds is still answered
    assert signed_post(closed_kai, COMMANDS, command("show pods", "bound", slack)).status_code == 200
    assert "todo-backend" in text_of(slack.wait("bound", 1)[0])
    idle(closed_kai)


# --- the JSON API ----------------------------------------------------------------------------


def api(kai: KaiServer, method: str, path: str, *, token: str | None = TOKEN, scheme: str = "Bearer",
        json_body: object = None, content: bytes | None = None,
        content_type: str = "application/json") -> httpx.Response:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}".strip()
    data = content if content is not None else (None if json_body is None else json.dumps(json_body).encode())
    return httpx.request(method, kai.url + path, content=data, headers=headers, timeout=30)


@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/chat"), ("GET", "/v1/approvals/abc"),
                                          ("POST", "/v1/approvals/abc")])
@pytest.mark.parametrize(("token", "scheme"), [(None, "Bearer"), ("wrong-token-0123456789", "Bearer"), ("", "Bearer"),
                                           (TOKEN + "x", "Bearer"), (TOKEN[:-1], "Bearer"), (TOKEN, "Basic"),
                                           (TOKEN, "Token")],
                         ids=["none", "wrong", "scheme only", "longer", "shorter", "basic", "other-scheme"])
def test_the_api_without_a_valid_token_is_401(kai: KaiServer, slack: ResponseUrls, method: str, path: str,
                                              token: str | None, scheme: str) -> None:
    body = {"prompt": "scale backend to 9"} if path == "/v1/chat" else {"approve": True}
    with nothing_happens(kai, slack):
        response = api(kai, method, path, token=token, scheme=scheme, json_body=None if method == "GET" else body)
        refused(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("content", "words"), [
    (b"{not json", "json"),
    (b"", "body"),
    (b"[]", "body"),
    (json.dumps({"prompt": "show pods", "extra": 1}).encode(), "extra"),
    (json.dumps({"prompt": "x" * 8001}).encode(), "prompt"),
    (json.dumps({"prompt": ""}).encode(), "prompt"),
    (json.dumps({"prompt": 5}).encode(), "prompt"),
    (json.dumps({"prompt": "show pods", "session": "../../etc"}).encode(), "session"),
], ids=["malformed", "empty", "list", "extra field", "prompt too long", "empty prompt", "prompt a number",
        "bad session"])
def test_a_bad_chat_body_is_400(kai: KaiServer, slack: ResponseUrls, content: bytes, words: str) -> None:
    with nothing_happens(kai, slack):
        refused(api(kai, "POST", "/v1/chat", content=content), 400, words)


def test_a_chat_body_nested_too_deep_is_400(kai: KaiServer, slack: ResponseUrls) -> None:
    with nothing_happens(kai, slack):
        response = api(kai, "POST", "/v1/chat", content=b"[" * 100_000 + b"]" * 100_000)
        assert response.status_code == 400, response.text


def test_a_chat_body_that_is_not_json_is_refused(kai: KaiServer, slack: ResponseUrls) -> None:
    with nothing_happens(kai, slack):
        response = api(kai, "POST", "/v1/chat", content=b"prompt=scale+backend+to+9",
                       content_type="application/x-www-form-urlencoded")
        assert response.status_code in (400, 415), response.text


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("GET", "/v1/approvals/nosuch", None, 404),
    ("POST", "/v1/approvals/nosuch", {"approve": True}, 404),
    ("GET", "/v1/approvals/" + "a" * 65, None, 400),
    ("GET", "/v1/approvals/a.b", None, 400),
    ("POST", "/v1/approvals/abc", {"approve": "maybe"}, 400),
    ("POST", "/v1/approvals/abc", {"approve": True, "as": "slack:T1/UADMIN"}, 400),
    ("POST", "/v1/approvals/abc", {"approve": True, "note": "n" * 501}, 400),
], ids=["unknown id", "answer unknown id", "id too long", "id with a dot", "approve not a boolean", "extra field",
        "note too long"])
def test_bad_approval_requests(kai: KaiServer, slack: ResponseUrls, method: str, path: str, body: object,
                               status: int) -> None:
    with nothing_happens(kai, slack):
        refused(api(kai, method, path, json_body=body), status)


def test_a_command_longer_than_a_prompt_may_be_is_refused(kai: KaiServer, slack: ResponseUrls) -> None:
    body = command("show pods " * (MAX_PROMPT // 10 + 1), "too-long", slack)
    with nothing_happens(kai, slack):
        response = kai.post("/slack/commands", body, sign(body))
        assert response.status_code == 200 and response.json()["response_type"] == "ephemeral"
        assert f"at most {MAX_PROMPT}" in response.json()["text"]
