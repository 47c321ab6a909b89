"""kai serve's settings, its documented environment, and the Slack messages it builds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.runner import RunResult, RunStats, ToolRecord
from app.serve import blocks
from app.serve.settings import Settings, parse_tokens
from tools.errors import KaiError
from tools.executor import Outcome

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented_in_env_example() -> None:
    read = set(re.findall(r"\"(KAI_[A-Z_]+)\"", (ROOT / "app/serve/settings.py").read_text()))
    documented = set(re.findall(r"^#? ?(KAI_[A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read and read <= documented, read - documented


def test_settings_from_the_environment() -> None:
    settings = Settings.from_env({"KAI_API_TOKENS": "ci=0123456789abcdef0, bob = fedcba9876543210f",
                                  "KAI_WORKERS": "2", "KAI_SLACK_RESPONSE_HOSTS": "127.0.0.1, hooks.slack.com"},
                                 workers=3)
    assert settings.api_tokens == {"0123456789abcdef0": "ci", "fedcba9876543210f": "bob"}
    assert settings.workers == 3 and settings.response_hosts == ("127.0.0.1", "hooks.slack.com")


@pytest.mark.parametrize("env", [{"KAI_API_TOKENS": "ci"}, {"KAI_API_TOKENS": "ci=short"},
                                 {"KAI_WORKERS": "many"}, {"KAI_WORKERS": "0"}, {"KAI_RUN_TIMEOUT": "-1"}])
def test_bad_settings_are_clear_errors(env: dict[str, str]) -> None:
    with pytest.raises(KaiError, match="KAI_"):
        Settings.from_env(env)


def test_tokens_need_a_name() -> None:
    with pytest.raises(KaiError):
        parse_tokens("=0123456789abcdef0")


def test_answers_put_tables_in_code_blocks_and_escape_control_characters() -> None:
    text = "3 pods <ok>:\nNAME   READY   STATUS\nweb-1  1/1     Running\n**done**"
    shown = blocks.mrkdwn(text)
    assert "3 pods &lt;ok&gt;:" in shown and "```NAME   READY   STATUS\nweb-1  1/1     Running```" in shown
    assert shown.endswith("*done*")
    result = RunResult("ok", "done", [ToolRecord("c1", "list_pods", {}, "ok", "allow", 7)], RunStats())
    message = blocks.answer("show pods", "slack:T1/U2", result)
    assert message["response_type"] == "in_channel"
    assert "<@U2>" in str(message["blocks"][0]) and "audit #7" in str(message["blocks"])


def outcome(risk_tool: str) -> Outcome:
    return Outcome(tool=risk_tool, status="approval_pending", text="", audit_id=3, approval_id="abc",
                   preview={"summary": "delete pod web-1", "command": "kubectl delete pod web-1", "diff": "- web-1"})


def test_destructive_approvals_ask_for_confirmation() -> None:
    destructive = blocks.approval(outcome("delete_resource"), "slack:T1/U2", "destructive", None)
    write = blocks.approval(outcome("scale"), "slack:T1/U2", "write", None)
    [approve, reject] = destructive["blocks"][-1]["elements"]
    assert approve["confirm"]["title"]["text"] == "Destructive change" and approve["value"] == "abc"
    assert reject["action_id"] == blocks.REJECT and "confirm" not in write["blocks"][-1]["elements"][0]
