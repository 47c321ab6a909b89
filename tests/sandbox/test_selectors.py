"""Unit tests of sandbox.selectors against k8s.io/apimachinery's labels and fields parsers."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.errors import BadRequest
from sandbox.selectors import (
    Requirement,
    fields_match,
    format_selector,
    labels_match,
    parse_field_selector,
    parse_label_selector,
    selector_from_match_labels,
)

Obj = dict[str, Any]


def obj(labels: dict[str, str] | None = None, **extra: Any) -> Obj:
    meta: Obj = {"name": "o", "namespace": "ns"}
    if labels is not None:
        meta["labels"] = labels
    return {"metadata": meta, **extra}


def matches(selector: str, labels: dict[str, str] | None) -> bool:
    return labels_match(parse_label_selector(selector), obj(labels))


# --- parsing ---------------------------------------------------------------------

def test_parse_every_operator() -> None:
    reqs = parse_label_selector("app=web,env==prod,tier!=db,zone in (b,a),x notin (c),y,!z,n>3,m<7")
    assert reqs == [
        Requirement("app", "=", ("web",)),
        Requirement("env", "==", ("prod",)),
        Requirement("tier", "!=", ("db",)),
        Requirement("zone", "in", ("a", "b")),
        Requirement("x", "notin", ("c",)),
        Requirement("y", "exists"),
        Requirement("z", "!exists"),
        Requirement("n", ">", ("3",)),
        Requirement("m", "<", ("7",)),
    ]


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_selector_matches_everything(text: str) -> None:
    assert parse_label_selector(text) == []
    assert matches(text, None)


def test_whitespace_is_insignificant_around_tokens() -> None:
    assert parse_label_selector("  app = web , tier in(a, b) ,  ! legacy ") == [
        Requirement("app", "=", ("web",)),
        Requirement("tier", "in", ("a", "b")),
        Requirement("legacy", "!exists"),
    ]


def test_prefixed_keys_and_empty_values() -> None:
    assert parse_label_selector("app.kubernetes.io/name=web,release=") == [
        Requirement("app.kubernetes.io/name", "=", ("web",)),
        Requirement("release", "=", ("",)),
    ]


def test_in_and_notin_are_only_keywords_in_operator_position() -> None:
    assert parse_label_selector("in in (in,notin)") == [Requirement("in", "in", ("in", "notin"))]


def test_empty_set_members_are_the_empty_value() -> None:
    # parseIdentifiersList: "()", "(a,)" and "(,a)" include "".
    assert parse_label_selector("a in ()")[0].values == ("",)
    assert parse_label_selector("a in (x,)")[0].values == ("", "x")
    assert parse_label_selector("a notin (,x)")[0].values == ("", "x")


@pytest.mark.parametrize("text", [
    "app=web,",                 # identifier expected after ','
    ",app",                     # leading comma
    "app in web",               # '(' expected
    "app in (a b)",             # ',' or ')' expected
    "app in (a",                # unterminated set
    "app=(a)",                  # parenthesised exact value
    "app=web extra",            # ',' or end of string expected
    "!app=web",                 # !key takes no operator
    "app=web=x",
    "=web",
    "!",
    "app web",
    "-app=web",                 # invalid key
    "app-=web",
    "a/b/c=d",                  # more than one '/'
    "/app=web",                 # empty prefix
    "Example.com/app=web",      # prefix must be a lowercase DNS subdomain
    "app=-web",                 # invalid value
    "app=web-",
    "app in (ok,-bad)",
    "app=" + "v" * 64,          # value longer than 63
    "k" * 64 + "=v",            # key name longer than 63
    "n>x",                      # gt/lt need an integer
    "n<",
])
def test_parse_errors_are_bad_requests(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_label_selector(text)


def test_parse_error_message_names_the_requirement() -> None:
    with pytest.raises(BadRequest, match="unable to parse requirement"):
        parse_label_selector("app=-web")


# --- matching --------------------------------------------------------------------

@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ("app=web", {"app": "web"}, True),
    ("app=web", {"app": "db"}, False),
    ("app=web", {}, False),
    ("app==web", {"app": "web"}, True),
    ("app!=web", {"app": "db"}, True),
    ("app!=web", {"app": "web"}, False),
    ("app!=web", {}, True),                       # != matches objects without the label
    ("app in (web,db)", {"app": "db"}, True),
    ("app in (web,db)", {"app": "cache"}, False),
    ("app in (web,db)", {}, False),
    ("app notin (web,db)", {"app": "cache"}, True),
    ("app notin (web,db)", {"app": "web"}, False),
    ("app notin (web,db)", {}, True),             # notin matches objects without the label
    ("app", {"app": ""}, True),
    ("app", {"other": "x"}, False),
    ("!app", {"other": "x"}, True),
    ("!app", {"app": "web"}, False),
    ("release=", {"release": ""}, True),
    ("release=", {}, False),
    ("a in ()", {"a": ""}, True),
    ("n>3", {"n": "4"}, True),
    ("n>3", {"n": "3"}, False),
    ("n>3", {"n": "x"}, False),                   # a non-integer label never matches
    ("n>3", {}, False),
    ("n<3", {"n": "-1"}, True),
    ("app=web,tier=fe", {"app": "web", "tier": "fe"}, True),
    ("app=web,tier=fe", {"app": "web"}, False),   # requirements are ANDed
])
def test_label_matching(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert matches(selector, labels) is expected


def test_objects_without_labels() -> None:
    assert matches("!app", None)
    assert not matches("app", None)
    assert labels_match(parse_label_selector("app!=x"), {"metadata": {"labels": None}})


# --- LabelSelector objects -------------------------------------------------------

def test_selector_from_match_labels_and_expressions() -> None:
    reqs = selector_from_match_labels({
        "matchLabels": {"tier": "fe", "app": "web"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "stage"]},
            {"key": "legacy", "operator": "DoesNotExist"},
            {"key": "zone", "operator": "NotIn", "values": ["a"]},
            {"key": "gpu", "operator": "Exists"},
        ],
    })
    assert reqs is not None
    assert [(r.key, r.op) for r in reqs] == [
        ("app", "="), ("env", "in"), ("gpu", "exists"), ("legacy", "!exists"),
        ("tier", "="), ("zone", "notin")]
    good = obj({"app": "web", "tier": "fe", "env": "prod", "gpu": "1", "zone": "b"})
    assert labels_match(reqs, good)
    assert not labels_match(reqs, obj({**good["metadata"]["labels"], "legacy": "y"}))


def test_empty_label_selector_matches_everything_and_none_nothing() -> None:
    assert selector_from_match_labels({}) == []
    assert selector_from_match_labels(None) is None


def test_label_selector_with_bad_operator_is_rejected() -> None:
    with pytest.raises(BadRequest):
        selector_from_match_labels({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})
    with pytest.raises(BadRequest):
        selector_from_match_labels({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})


@pytest.mark.parametrize(("selector", "text"), [
    (None, "<none>"),
    ({}, "<none>"),
    ({"matchLabels": {}}, "<none>"),
    ({"matchLabels": {"app": "web"}}, "app=web"),
    # Requirements sorted by key, set values sorted (labels.Requirement.String()).
    ({"matchLabels": {"z": "1", "app": "web"},
      "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]},
                           {"key": "env", "operator": "DoesNotExist"},
                           {"key": "gpu", "operator": "Exists"},
                           {"key": "os", "operator": "NotIn", "values": ["win"]}]},
     "app=web,!env,gpu,os notin (win),tier in (a,b),z=1"),
    ({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}, "<error>"),
])
def test_format_selector(selector: Obj | None, text: str) -> None:
    assert format_selector(selector) == text


def test_format_selector_round_trips_through_the_parser() -> None:
    selector = {"matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db", "cache"]}]}
    text = format_selector(selector)
    assert text == "app=web,tier notin (cache,db)"
    assert ",".join(map(str, parse_label_selector(text))) == text


# --- field selectors -------------------------------------------------------------

def pod(phase: str = "Running", node: str = "n1", **spec: Any) -> Obj:
    return obj({}, spec={"nodeName": node, **spec}, status={"phase": phase, "podIP": "10.0.0.1"})


@pytest.mark.parametrize(("selector", "expected"), [
    ("status.phase=Running", True),
    ("status.phase==Running", True),
    ("status.phase!=Running", False),
    ("status.phase=Pending", False),
    ("spec.nodeName=n1,metadata.name=o", True),
    ("spec.nodeName=n1,metadata.name!=o", False),
    ("metadata.namespace=ns", True),
    ("status.podIP=10.0.0.1", True),
    ("spec.nodeName=", False),
    ("spec.hostNetwork=false", True),
    ("", True),
])
def test_pod_field_selectors(selector: str, expected: bool) -> None:
    assert fields_match(parse_field_selector(selector, "pods"), pod()) is expected


def test_unscheduled_pod_has_empty_node_name() -> None:
    assert fields_match(parse_field_selector("spec.nodeName=", "pods"), pod(node=""))


def test_field_selector_values_may_contain_equals_signs() -> None:
    reqs = parse_field_selector("metadata.name=a=b", "configmaps")
    assert fields_match(reqs, {"metadata": {"name": "a=b"}})


@pytest.mark.parametrize(("storage", "selector", "item"), [
    ("events", "involvedObject.kind=Pod,involvedObject.name=web,reason=Started,type=Normal",
     {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "web"},
      "reason": "Started", "type": "Normal"}),
    ("events", "source=kubelet", {"metadata": {"name": "e"}, "source": {"component": "kubelet"}}),
    ("secrets", "type=kubernetes.io/tls", {"metadata": {"name": "s"}, "type": "kubernetes.io/tls"}),
    ("namespaces", "status.phase=Active", {"metadata": {"name": "n"}, "status": {"phase": "Active"}}),
    ("nodes", "spec.unschedulable=false", {"metadata": {"name": "n"}, "spec": {}}),
    ("nodes", "spec.unschedulable=true", {"metadata": {"name": "n"}, "spec": {"unschedulable": True}}),
    ("replicasets.apps", "status.replicas=0", {"metadata": {"name": "r"}}),
    ("jobs.batch", "status.successful=1", {"metadata": {"name": "j"}, "status": {"succeeded": 1}}),
])
def test_kind_specific_field_selectors(storage: str, selector: str, item: Obj) -> None:
    assert fields_match(parse_field_selector(selector, storage), item)


@pytest.mark.parametrize(("storage", "selector"), [
    ("pods", "spec.containers=x"),
    ("configmaps", "status.phase=Running"),   # pods' fields are not everyone's
    ("services", "spec.type=ClusterIP"),
    ("pods", "status.phase"),                 # no operator
    ("pods", "status.phase>1"),
])
def test_bad_field_selectors_are_bad_requests(storage: str, selector: str) -> None:
    with pytest.raises(BadRequest):
        parse_field_selector(selector, storage)


def test_unsupported_field_message() -> None:
    with pytest.raises(BadRequest, match=r"field label not supported: spec\.containers"):
        parse_field_selector("spec.containers=x", "pods")
