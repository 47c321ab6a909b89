"""The questions the planner asks instead of guessing: a write needs a clear target and, for
scale, image, env and resources, a clear amount. Each question says what is missing and gives
an example, and keeps what was understood so the next message can complete it."""

from __future__ import annotations

from .intents import NEEDS_NAME, Ask, Intent, Parsed


def check(intents: list[Intent]) -> Parsed:
    """The intents, or the question to ask when one of them is not clear enough to run."""
    for intent in intents:
        asked = question(intent)
        if asked:
            missing, _, text = asked.partition(": ")
            return Ask(text, intent, missing)
    return intents


def question(intent: Intent) -> str | None:
    a, name = intent.action, intent.name
    extra = intent.args.get("_extra_names")
    if intent.writes and extra:
        return f"name: Which one did you mean: {', '.join([name or '', *extra])}? Name one object per change."
    if name is None and a in NEEDS_NAME and not (a == "helm_install" and intent.args.get("chart")):
        what = {"create_namespace": "namespace", "delete_namespace": "namespace", "helm_install": "chart",
                "helm_upgrade": "release", "helm_rollback": "release", "helm_uninstall": "release",
                "helm_history": "release", "helm_status": "release", "helm_values": "release"}.get(a, "workload")
        what = "object" if a == "delete" else what
        example = EXAMPLES.get(a, "scale backend to 3")
        return f"name: Which {what} do you mean? For example \"{example}\"."
    if a == "scale" and intent.args.get("replicas") == "negative":
        return (f"replicas: A replica count can't be below zero. How many replicas should {name} have? For example "
                f"\"scale {name} to 1\" or \"remove 1 replica from {name}\".")
    if a == "scale" and intent.args.get("replicas") in (None, "?"):
        return (f"replicas: How many replicas should {name} have? For example \"scale {name} to 3\", "
                f"\"add one replica\" or \"double it\".")
    if a == "set_image" and not intent.args.get("image"):
        return f"image: Which image or tag should {name} run? For example \"set {name} image to 1.22\"."
    if a == "delete" and intent.kind is None:
        return f"kind: What kind of object is {name}? For example \"delete deployment {name}\"."
    if a == "set_env" and not intent.args.get("env") and not intent.args.get("unset"):
        return f"env: Which variables? For example \"set LOG_LEVEL=debug on {name}\"."
    if a == "set_resources" and len(intent.args) == 0:
        return f"resources: How much CPU or memory? For example \"limit {name} to 512Mi memory\"."
    if a == "autoscale" and "max" not in intent.args:
        return f"max: Up to how many replicas? For example \"autoscale {name} between 2 and 5 replicas\"."
    if a == "can_i" and not intent.kind:
        return "kind: On which kind of object? For example \"can I delete pods in todo-app?\""
    return None


EXAMPLES = {"create_namespace": "create namespace staging", "delete_namespace": "delete namespace staging",
            "helm_install": "install todo-app Helm chart in staging namespace",
            "helm_upgrade": "upgrade todo-app with backend.replicaCount=3",
            "helm_rollback": "rollback todo-app to previous Helm revision", "helm_uninstall": "uninstall todo-app",
            "helm_history": "show Helm revision history for todo-app", "helm_status": "helm status todo-app",
            "helm_values": "show values of todo-app", "logs": "show logs of backend", "restart": "restart backend",
            "set_image": "set backend image to 1.2", "delete": "delete deployment web-app",
            "get": "describe deploy backend", "describe": "describe deploy backend",
            "pods_of": "show pods of backend"}
