"""``kai serve``'s HTTP API fuzzed from its own OpenAPI document with schemathesis: every
operation, with valid and invalid data (positive and negative generation), with and without
a valid bearer token, with random Slack signatures (and a fresh timestamp), and with bodies
signed as Slack signs them. No answer is a 5xx, and nothing is executed: no write tool runs,
no request without a valid signature is accepted, the cluster does not change.

The server has a policy of its own where the API caller is a viewer (the mode stays
``confirm``), so not even a valid token can write. Generation is deterministic (Hypothesis
``derandomize``) and bounded (:data:`EXAMPLES` per operation and mode)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.schemas import OpenApiSchema

from sandbox import control
from tests.conftest import Kubectl, replicas

from .requests_util import audit, idle, inbox, start_serve
from .slack import TOKEN, KaiServer, ResponseUrls, sign

EXAMPLES = 30
SIGNED_TEAM = "TFUZZ"  # the team of the signed commands that may be accepted: unknown, so a viewer

POLICY = """
bindings:
  admin: ["slack:T1/UADMIN"]
  operator: ["slack:T1/UOPS"]
  viewer: ["api:ci", "mcp:default"]
default_role: viewer
mode: confirm
chatops:
  channels: [C1, "ops-*"]
  requests_per_minute: 100000
"""

# Prompts that ask for changes, mixed into the generated ones: a viewer's are refused.
CHANGES = ["scale backend to 9", "delete deployment todo-backend", "restart the frontend", "set image of backend "
           "to nginx:1", "rollback todo-app", "uninstall todo-app", "drain the node", "scale everything to 0"]

Operation = APIOperation[Any, Any, Any, Any]
Example = Case[Any]
Send = Callable[[Example], Any]
Cases = Callable[[st.SearchStrategy[Example]], st.SearchStrategy[Example]]


@pytest.fixture(scope="module")
def fuzzed(cluster: control.Sandbox, namespace: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[KaiServer]:
    server = start_serve(cluster, tmp_path_factory.mktemp("fuzz"), namespace, POLICY)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def schema(fuzzed: KaiServer) -> OpenApiSchema:
    return schemathesis.openapi.from_url(fuzzed.url + "/openapi.json")


@pytest.fixture(scope="module")
def before(kc: Kubectl, namespace: str) -> int:
    return replicas(kc, namespace)


def operations(schema: OpenApiSchema, tag: str | None = None) -> list[Operation]:
    results = list(schema.get_all_operations())
    assert results and all(isinstance(result, Ok) for result in results), results
    found = [result.ok() for result in results if isinstance(result, Ok)]
    return [op for op in found if tag is None or tag in (op.tags or [])]


def modes(operation: Operation) -> list[GenerationMode]:
    """Negative data needs something to get wrong: a parameter or a body."""
    has_input = any(True for _ in operation.iter_parameters()) or bool(operation.body)
    return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE] if has_input else [GenerationMode.POSITIVE]


def fuzz(operation: Operation, mode: GenerationMode, send: Send, cases: Cases = lambda s: s) -> None:
    """Send up to :data:`EXAMPLES` cases of ``operation``; fail on a 5xx (or a connection error)."""

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(case=cases(operation.as_strategy(generation_mode=mode)))
    def run(case: Example) -> None:
        case.validate_response(send(case), checks=[not_a_server_error])

    run()


def fuzz_all(found: list[Operation], send: Send, **options: Any) -> list[str]:
    """Every operation in every mode it has: what failed (empty: nothing)."""
    failures = []
    for operation in found:
        for mode in modes(operation):
            try:
                fuzz(operation, mode, send, **options)
            except Exception as exc:  # collect all, report together
                failures.append(f"{operation.label} ({mode.value}): {type(exc).__name__}: {exc}"[:3000])
    return failures


def nothing_executed(kai: KaiServer, kc: Kubectl, namespace: str, before: int) -> None:
    """No write tool ran, nothing came in but the signed commands of the unknown team, the
    cluster is as it was."""
    rows = idle(kai, timeout=60)
    assert not [row for row in rows if not row.identity.startswith(f"slack:{SIGNED_TEAM}/")], rows
    wrote = [(row.tool, row.caller, row.decision, row.outcome) for row in audit(kai) if row.risk != "read"]
    assert not [w for w in wrote if w[3] == "ok" or w[2] == "allow"], wrote
    assert replicas(kc, namespace) == before


def plain(base_url: str, headers: dict[str, str] | None = None, seen: Counter[int] | None = None) -> Send:
    def send(case: Example) -> Any:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        if seen is not None:
            seen[response.status_code] += 1
        return response

    return send


def test_fuzz_every_operation_as_anyone(fuzzed: KaiServer, schema: OpenApiSchema, kc: Kubectl, namespace: str,
                                        before: int) -> None:
    """Generated headers: random Slack signatures and timestamps, random or no bearer token."""
    found = operations(schema)
    assert {op.label for op in found} >= {"POST /slack/commands", "POST /slack/interactions", "POST /v1/chat",
                                          "GET /v1/approvals/{approval_id}", "POST /v1/approvals/{approval_id}",
                                          "GET /healthz", "GET /readyz", "GET /metrics"}
    seen: Counter[int] = Counter()
    assert fuzz_all(found, plain(fuzzed.url, seen=seen)) == []
    assert seen[401] and seen[200], seen
    nothing_executed(fuzzed, kc, namespace, before)
    assert not inbox(fuzzed)


def test_fuzz_the_api_with_a_valid_token(fuzzed: KaiServer, schema: OpenApiSchema, kc: Kubectl, namespace: str,
                                         before: int) -> None:
    def asking_for_changes(strategy: st.SearchStrategy[Example]) -> st.SearchStrategy[Example]:
        def patch(pair: tuple[Example, str | None]) -> Example:
            case, prompt = pair
            if prompt is not None and isinstance(case.body, dict) and "prompt" in case.body:
                case.body["prompt"] = prompt
            return case

        return st.tuples(strategy, st.none() | st.sampled_from(CHANGES)).map(patch)

    found = operations(schema, "api")
    assert len(found) == 3
    seen: Counter[int] = Counter()
    assert fuzz_all(found, plain(fuzzed.url, {"Authorization": f"Bearer {TOKEN}"}, seen),
                    cases=asking_for_changes) == []
    assert seen[200] and seen[400] and seen[404], seen  # answered, refused as invalid, no such approval
    nothing_executed(fuzzed, kc, namespace, before)
    refused = [row for row in audit(fuzzed, caller="api:ci") if row.risk != "read"]
    assert refused and all(row.decision == "deny" for row in refused), refused


def test_fuzz_slack_with_a_fresh_timestamp_and_a_random_signature(fuzzed: KaiServer, schema: OpenApiSchema,
                                                                   kc: Kubectl, namespace: str, before: int) -> None:
    def fresh(strategy: st.SearchStrategy[Example]) -> st.SearchStrategy[Example]:
        def stamp(case: Example) -> Example:
            if case.headers is not None:
                case.headers["X-Slack-Request-Timestamp"] = str(int(time.time()))
            return case

        return strategy.map(stamp)

    assert fuzz_all(operations(schema, "slack"), plain(fuzzed.url), cases=fresh) == []
    nothing_executed(fuzzed, kc, namespace, before)


def test_fuzz_slack_with_signed_bodies(fuzzed: KaiServer, schema: OpenApiSchema, slack: ResponseUrls, kc: Kubectl,
                                       namespace: str, before: int) -> None:
    """Past the signature: random form fields, signed; some with a response URL and channel
    that pass, from a team the policy does not know (a viewer), so they run as reads."""
    reply_to = slack.url("fuzz-signed")

    def reachable(strategy: st.SearchStrategy[Example]) -> st.SearchStrategy[Example]:
        def patch(drawn: tuple[Example, bool, str | None]) -> Example:
            case, deeper, change = drawn
            if deeper and isinstance(case.body, dict) and "team_id" in case.body:
                case.body.update(team_id=SIGNED_TEAM, response_url=reply_to, channel_id="C1",
                                 user_id=case.body.get("user_id") or "UFUZZ",
                                 text=change or case.body.get("text") or "?")
            return case

        return st.tuples(strategy, st.booleans(), st.none() | st.sampled_from(CHANGES)).map(patch)

    def send(case: Example) -> requests.Response:
        kwargs = case.as_transport_kwargs(base_url=fuzzed.url)
        prepared = requests.Request(method=kwargs["method"], url=kwargs["url"], headers=kwargs["headers"],
                                    params=kwargs.get("params"), data=kwargs.get("data"), json=kwargs.get("json"),
                                    files=kwargs.get("files")).prepare()
        body = prepared.body or b""
        body = body.encode() if isinstance(body, str) else body
        signed = sign(body)
        prepared.headers["X-Slack-Request-Timestamp"] = signed["X-Slack-Request-Timestamp"]
        prepared.headers["X-Slack-Signature"] = signed["X-Slack-Signature"]
        with requests.Session() as session:
            response = session.send(prepared, timeout=30, allow_redirects=False)
        seen[response.status_code] += 1
        return response

    seen: Counter[int] = Counter()
    assert fuzz_all(operations(schema, "slack"), send, cases=reachable) == []
    assert seen[200] and seen[400], seen
    nothing_executed(fuzzed, kc, namespace, before)
    accepted = inbox(fuzzed)
    assert accepted and all(row.reply_to == reply_to and row.channel == "C1" for row in accepted), accepted
    asked = [row for row in audit(fuzzed) if row.caller.startswith(f"slack:{SIGNED_TEAM}/") and row.risk != "read"]
    assert asked and all(row.decision == "deny" for row in asked), asked  # changes asked for, and refused
