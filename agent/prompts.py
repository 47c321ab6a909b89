"""The system prompt for LLM providers, read from ``prompts/`` at run time.

``--prompt-template-file-path FILE`` replaces the template; ``--extra-prompt-paths FILE…``
appends files after it, as in kubectl-ai. ``${context}``, ``${namespace}`` and ``${tools}``
in a template are filled in; other ``$`` text is left as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from string import Template

from tools.errors import KaiError

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
DEFAULT_TEMPLATE = PROMPTS / "system.md"


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise KaiError(f"{what} not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise KaiError(f"cannot read {what} {path}: {exc}") from exc


def system_prompt(*, context: str, namespace: str, tools: Sequence[str], template: Path | None = None,
                  extra: Sequence[Path] = ()) -> str:
    """The template (``prompts/system.md`` unless given) filled in, then each extra file."""
    text = _read(template or DEFAULT_TEMPLATE, "prompt template")
    filled = Template(text).safe_substitute(context=context, namespace=namespace, tools=", ".join(tools))
    parts = [filled.strip()] + [_read(path, "extra prompt").strip() for path in extra]
    return "\n\n".join(part for part in parts if part) + "\n"
