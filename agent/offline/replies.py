"""What the planner says instead of acting when a change is named but not asked for: a negation
("don't scale backend to 5", "not sure whether to restart backend", "restart … no wait"), a
how-to ("explain how to restart backend"), or a setting kai has no tool for ("set the timeout
to 30"). Each reply says that nothing was changed and how to ask for the change plainly."""

from __future__ import annotations

from .intents import Intent
from .lexicon import SINGULAR

SETTING = ("I can't change an application setting like a log level, a timeout or a port: kai's tools change "
           "replicas, images, environment variables, CPU and memory, and Helm values. If the setting is an "
           "environment variable, say for example \"set LOG_LEVEL=debug on backend\"; if it is a Helm value, "
           "\"upgrade todo-app with backend.logLevel=debug\". Nothing was changed.")


def say(intent: Intent) -> str:
    """The reply for a how-to or a setting (:data:`~agent.offline.intents.SAY`)."""
    if intent.action == "refrain":
        return refrain([intent])
    write = intent.args.get("_write")
    if intent.action == "setting" or not isinstance(write, str):
        return SETTING
    what = command(write, intent)
    where = " (add \"in NAMESPACE\" to say where)" if write not in NOT_NAMESPACED and not intent.namespace else ""
    return (f"To {what}, ask me in those words: \"{what}\"{where}. I show the change and ask before making it. "
            "Nothing was changed now.")


def refrain(intents: list[Intent]) -> str:
    """One reply for the changes a message said not to make."""
    named = [(str(i.args["_write"]), i) for i in intents if isinstance(i.args.get("_write"), str)]
    if not named:
        return "OK, I won't change anything. Nothing was changed."
    whats = list(dict.fromkeys(command(w, i, "anything") for w, i in named))
    first_write, first = named[0]
    if not first.name:
        return f"OK, I won't {' or '.join(whats)}. Nothing was changed."
    look = f" To look first, ask \"is {first.name} healthy?\" or \"why is {first.name} failing?\"." if (
        first_write in ("scale", "restart", "undo", "set_image", "rollback")) else ""
    return f"OK, I won't {' or '.join(whats)}. Nothing was changed; if you do want it, say \"{whats[0]}\".{look}"


NOT_NAMESPACED = frozenset({"create_namespace", "delete_namespace", "cordon", "uncordon", "drain"})


def command(action: str, intent: Intent, anything: str = "NAME") -> str:
    """The plain request for ``action`` on ``intent``'s object ("scale backend to 5")."""
    a = intent.args
    n = intent.name or anything
    where = f" in {intent.namespace}" if intent.namespace and intent.name else ""
    if action == "scale":
        r = str(a.get("replicas") or "")
        if r.isdigit():
            text = f"scale {n} to {r}"
        elif r[:1] in "+-" and r[1:].isdigit():
            count = int(r[1:])
            noun = "replica" if count == 1 else "replicas"
            text = f"add {count} {noun} to {n}" if r[0] == "+" else f"remove {count} {noun} from {n}"
        elif r.startswith("x") and r[1:].isdigit():
            text = f"scale {n} x{r[1:]}"
        elif r.endswith("%") and r[:-1].isdigit():
            text = f"scale {n} to {r} of its replicas"
        else:
            text = f"scale {n}"
        return text + where
    revision = f" to revision {a['revision']}" if a.get("revision") else ""
    phrases = {
        "restart": f"restart {n}", "undo": f"roll back {n}{revision}", "rollback": f"roll back {n}{revision}",
        "helm_rollback": f"roll back Helm release {n}{revision}",
        "set_image": f"set {n} image to {a['image']}" if a.get("image") else f"change the image of {n}",
        "helm_install": f"install {a.get('chart') or n}", "helm_upgrade": f"upgrade {n}" + (
            f" with {','.join(a['set'])}" if a.get("set") else ""),
        "helm_uninstall": f"uninstall {n}", "create_namespace": f"create namespace {n}",
        "delete_namespace": f"delete namespace {n}", "delete": f"delete {_singular(intent.kind)}{n}",
        "set_env": f"set {','.join(f'{k}={v}' for k, v in (a.get('env') or {}).items())} on {n}" if a.get("env")
        else f"change the environment of {n}",
        "set_resources": f"change the CPU and memory of {n}", "autoscale": f"autoscale {n}",
        "cordon": f"cordon node {n}", "uncordon": f"uncordon node {n}", "drain": f"drain node {n}",
    }
    return phrases.get(action, f"{action.replace('_', ' ')} {n}") + where


def _singular(kind: str | None) -> str:
    return f"{SINGULAR.get(kind, kind)} " if kind else ""
