"""The policy file: defaults, partial files merged over them, errors with line and field,
and the `kai policy` commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from tools import policy as policies
from tools.errors import PolicyError


def test_default_policy_is_the_documented_one() -> None:
    p = policies.load()
    assert p.mode == "confirm"
    assert p.namespaces.deny == ["kube-system", "kube-public", "kube-node-lease"]
    assert p.roles["viewer"] == ["read"] and p.roles["admin"] == ["read", "write", "destructive"]
    assert p.roles_of("repl:local") == ["admin"]
    assert p.roles_of("slack:T1/U1") == ["viewer"]  # default_role
    assert (p.bounds.replicas.min, p.bounds.replicas.max) == (0, 20)
    assert p.approval.ttl_seconds == 600


def test_a_file_gives_only_what_it_changes(tmp_path: Path) -> None:
    file = tmp_path / "p.yaml"
    file.write_text("mode: auto\nbounds:\n  namespaces:\n    todo-app: {replicas: {min: 1, max: 5}}\n")
    p = policies.load(file)
    assert p.mode == "auto"
    assert p.namespaces.deny == ["kube-system", "kube-public", "kube-node-lease"]  # from the defaults
    assert p.replica_bounds("todo-app").max == 5 and p.replica_bounds("other").max == 20


def test_environment_variable_names_the_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "p.yaml"
    file.write_text("mode: read-only\n")
    monkeypatch.setenv("KAI_POLICY", str(file))
    assert policies.load().mode == "read-only"


def test_bindings_replace_and_wildcards_match(tmp_path: Path) -> None:
    p = policies.parse("bindings:\n  operator: ['slack:T0123/*']\ndefault_role: null\n")
    assert p.roles_of("slack:T0123/U9") == ["operator"]
    assert p.roles_of("slack:T9/U9") == []
    assert p.roles_of("repl:local") == []  # bindings replace the default bindings
    assert p.can("slack:T0123/U1", "write") and not p.can("slack:T0123/U1", "destructive")


@pytest.mark.parametrize(("text", "expected"), [
    ("mode: yolo\n", "<t>:1: mode: Input should be 'read-only', 'confirm' or 'auto'"),
    ("bounds:\n  replicas:\n    max: -1\n", "<t>:3: bounds.replicas.max: Input should be greater than or equal to 0"),
    ("rate_limits:\n  writes_per_minute: lots\n", "<t>:2: rate_limits.writes_per_minute: Input should be a valid"),
    ("roles:\n  viewer: [read, fly]\n", "<t>:2: roles.viewer.1: Input should be 'read', 'write' or 'destructive'"),
    ("mode: auto\nsurprise: 1\n", "<t>:2: surprise: Extra inputs are not permitted"),
    ("bindings:\n  wizard: [repl:local]\n", "role 'wizard' is not defined under roles"),
    ("mode: [\n", "<t>:2: not valid YAML"),
    ("- a\n- b\n", "<t>:1: a policy is a mapping"),
    ("bounds:\n  replicas: {min: 5, max: 2}\n", "min (5) is above max (2)"),
])
def test_bad_files_name_line_and_field(text: str, expected: str) -> None:
    with pytest.raises(PolicyError) as err:
        policies.parse(text, "<t>")
    assert expected in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy"):
        policies.load(tmp_path / "absent.yaml")


def test_image_registries_and_chart_sources() -> None:
    p = policies.parse("bounds:\n  image_registries: [docker.io/library, ghcr.io/acme]\n"
                       "  chart_sources: [./helm, oci://registry.example/charts]\n")
    assert p.image_allowed("nginx:1.25") and p.image_allowed("docker.io/library/nginx")
    assert p.image_allowed("ghcr.io/acme/api:2") and not p.image_allowed("ghcr.io/evil/api:2")
    assert not p.image_allowed("quay.io/x/y:1")
    assert p.chart_allowed("./helm/todo-app") and p.chart_allowed("oci://registry.example/charts/todo")
    assert not p.chart_allowed("oci://elsewhere/charts/todo")


def test_protected_objects_by_name_and_label() -> None:
    p = policies.parse("protected:\n  objects: [{kind: Deployment, namespace: todo-app, name: todo-backend}]\n")
    assert p.protection("Deployment", "todo-app", "todo-backend", {})
    assert p.protection("Deployment", "other", "todo-backend", {}) is None
    assert p.protection("Service", "x", "y", {"kai.dev/protected": "true"})


def test_cli_show_and_check(tmp_path: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(main, ["policy", "show"])
    assert shown.exit_code == 0 and "mode: confirm" in shown.output
    assert policies.parse(shown.output) == policies.load()  # what show prints loads back the same
    commented = runner.invoke(main, ["policy", "show", "--default"])
    assert "# kai's default policy" in commented.output
    good = tmp_path / "good.yaml"
    good.write_text("mode: auto\n")
    assert runner.invoke(main, ["policy", "check", str(good)]).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("mode: auto\nbounds:\n  replicas:\n    max: many\n")
    result = runner.invoke(main, ["policy", "check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:4: bounds.replicas.max" in result.output
    env = runner.invoke(main, ["policy", "show"], env={"KAI_POLICY": str(good)})
    assert "mode: auto" in env.output
