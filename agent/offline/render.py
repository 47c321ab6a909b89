"""One successful tool result → answer text: a sentence for a change ("Scaled deployment
todo-backend in todo-app from 2 to 3 replicas."), a summary line and a compact table for a
read. Only fields of the result are used: nothing is invented."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .tables import EVENT_COLUMNS, HELM_COLUMNS, dump, table

Data = dict[str, Any]


def _in(data: Data) -> str:
    return f" in {data['namespace']}" if data.get("namespace") else ""


def _obj(data: Data, kind: str = "deployment") -> str:
    return f"{str(data.get('kind') or kind).lower()} {data.get('name')}{_in(data)}"


# --- changes ----------------------------------------------------------------------------------

def scale(d: Data) -> str:
    if d.get("from") == d.get("to"):
        return f"{_obj(d).capitalize()} already has {d.get('to')} replicas; nothing changed."
    return f"Scaled {_obj(d)} from {d.get('from')} to {d.get('to')} replicas."


def set_image(d: Data) -> str:
    return (f"Set the image of {_obj(d)} (container {d.get('container')}) from {d.get('previous_image')} to "
            f"{d.get('image')}; its pods are replaced by a rollout.")


def restart(d: Data) -> str:
    return f"Restarted {_obj(d)}: its pods are replaced one by one (restartedAt {d.get('restarted_at')})."


def undo(d: Data) -> str:
    images = ", ".join(d.get("images") or [])
    return (f"Rolled back deployment {d.get('name')}{_in(d)} from revision {d.get('from_revision')} to revision "
            f"{d.get('to_revision')}" + (f" (images: {images})." if images else "."))


def helm_change(d: Data) -> str:
    done = str(d.get("done") or "")
    release = f"Helm release {d.get('release')}{_in(d)}"
    facts = f"revision {d.get('revision')}, {d.get('status')}, chart {d.get('chart')}"
    if done.startswith("installed"):
        return f"Installed {release}: {facts}, {d.get('objects')} objects."
    if done.startswith("upgraded"):
        return f"Upgraded {release} ({done}): now {facts}."
    if done.startswith("rolled back"):
        return f"Rolled back {release} ({done}): now {facts}."
    return f"{done.capitalize()} {release}: {facts}."


def helm_uninstall(d: Data) -> str:
    return f"Uninstalled Helm release {d.get('release')}{_in(d)}: {d.get('removed')} objects removed."


def create_namespace(d: Data) -> str:
    return f"Created namespace {d.get('name')} ({d.get('phase')})."


def delete_namespace(d: Data) -> str:
    held = ", ".join(f"{n} {k}" for k, n in (d.get("contents") or {}).items())
    return f"Deleting namespace {d.get('name')} ({d.get('phase')})" + (f"; it held {held}." if held else ".")


def delete_resource(d: Data) -> str:
    pods = f" and its {d.get('pods')} pods" if d.get("pods") else ""
    return f"Deleted {_obj(d, 'object')}{pods}."


def set_env(d: Data) -> str:
    parts = [f"set {', '.join(f'{k}={v}' for k, v in (d.get('set') or {}).items())}" if d.get("set") else "",
             f"removed {', '.join(d.get('unset') or [])}" if d.get("unset") else "",
             f"not present: {', '.join(d.get('not_present') or [])}" if d.get("not_present") else ""]
    return (f"Environment of {_obj(d)} (container {d.get('container')}): " + "; ".join(p for p in parts if p)
            + ". A rollout follows.")


def set_resources(d: Data) -> str:
    parts = [f"{what} {', '.join(f'{k}={v}' for k, v in (d.get(what) or {}).items())}"
             for what in ("requests", "limits") if d.get(what)]
    return f"Resources of {_obj(d)} (container {d.get('container')}): {'; '.join(parts)}. A rollout follows."


def autoscale(d: Data) -> str:
    verb = "Created" if d.get("created") else "Updated"
    return (f"{verb} HorizontalPodAutoscaler {d.get('name')}{_in(d)} for {d.get('target')}: {d.get('min')} to "
            f"{d.get('max')} replicas at {d.get('cpu_percent')}% CPU.")


def node(d: Data) -> str:
    state = "unschedulable" if d.get("unschedulable") else "schedulable"
    return f"Node {d.get('name')} is {state}" + ("." if d.get("changed") else " (it already was).")


def drain(d: Data) -> str:
    parts = [f"evicted {len(d.get('evicted') or [])} pods"] + [
        f"{k.replace('_', ' ')}: {', '.join(d.get(k) or [])}" for k in ("skipped", "failed", "still_terminating")
        if d.get(k)]
    return f"Drained node {d.get('name')} (cordoned): " + "; ".join(parts) + "."


def applied(d: Data) -> str:
    rows = [f"- {o.get('kind')} {o.get('name')}{_in(o)}: {o.get('action')}" for o in d.get("objects") or []]
    return "Applied the manifest:\n" + "\n".join(rows)


# --- reads --------------------------------------------------------------------------------------

def resources(d: Data) -> str:
    kind = str(d.get("kind") or "object")
    noun = kind.lower() + ("" if kind.lower().endswith("s") else "s")
    total = d.get("total", 0)
    if not total:
        return f"No {noun} in {d.get('scope')}."
    counts = d.get("by_status") or {}
    status = " (" + ", ".join(f"{n} {s}" for s, n in counts.items()) + ")" if counts else ""
    more = f"\n{d['more']}" if d.get("more") else ""
    head = f"{total} {noun if total != 1 else kind.lower()} in {d.get('scope')}{status}:"
    return f"{head}\n{table(d.get('items') or [])}{more}"


def namespaces(d: Data) -> str:
    return f"{d.get('total')} namespaces:\n{table(d.get('namespaces') or [])}"


def logs(d: Data) -> str:
    blocks = [f"Logs of {d.get('source')}" + (f" ({d['note']})" if d.get("note") else "") + ":"]
    for entry in d.get("logs") or []:
        head = f"== {entry.get('pod')} ({entry.get('container')})"
        if entry.get("error"):
            blocks.append(f"{head}: {entry['error']}")
            continue
        lines = entry.get("lines") or []
        body = "\n".join(str(line) for line in lines) if lines else "(no lines)"
        omitted = f"\n{entry['omitted']}" if entry.get("omitted") else ""
        blocks.append(f"{head}\n{body}{omitted}")
    if not d.get("logs"):
        blocks.append("(no pods)")
    if d.get("more"):
        blocks.append(str(d["more"]))
    return "\n".join(blocks)



def events(d: Data, keep: Callable[[Data], bool] | None = None, what: str = "") -> str:
    rows = [e for e in d.get("events") or [] if isinstance(e, dict) and (keep is None or keep(e))]
    scope = f"{d.get('scope')}" + (f" about {what}" if what else "")
    if not rows:
        return f"No events in {scope}." if "warnings" not in scope else f"No {scope}."
    total = len(rows) if keep else d.get("total", len(rows))
    noun = "event" if total == 1 else "events"
    return f"{total} {noun} ({scope}), newest first:\n{table(rows, EVENT_COLUMNS, 15)}"


def health(d: Data) -> str:
    lines = [f"{d.get('target')}: {d.get('summary')}"]
    release = d.get("release")
    if isinstance(release, dict):
        lines.append(f"Release {release.get('name')}: revision {release.get('revision')}, {release.get('status')}, "
                     f"chart {release.get('chart')}")
    workloads = d.get("workloads") or []
    if workloads:
        lines.append("Workloads: " + ", ".join(f"{w.get('name')} {w.get('ready')}" + ("" if w.get("healthy") else " ✗")
                                               for w in workloads))
    for pod in (d.get("pods_not_ready") or [])[:5]:
        lines.append(f"- pod {pod.get('name')}: {pod.get('status')}, {pod.get('restarts')} restarts"
                     + (f" ({'; '.join(pod.get('reasons') or [])})" if pod.get("reasons") else ""))
    for pod in (d.get("restarts") or [])[:3]:
        lines.append(f"- pod {pod.get('name')} restarted {pod.get('restarts')} times" +
                     (f", last: {pod['last']}" if pod.get("last") else ""))
    for event in (d.get("warning_events") or [])[:3]:
        lines.append(f"- warning {event.get('reason')} on {event.get('object')}: {event.get('message')}")
    for service in (d.get("services_without_endpoints") or [])[:3]:
        lines.append(f"- service {service.get('name')} has no ready endpoints ({service.get('matching_pods')} "
                     "matching pods)")
    return "\n".join(lines)



def helm_history(d: Data) -> str:
    revisions = d.get("revisions") or []
    return (f"Helm release {d.get('release')}{_in(d)} has {len(revisions)} revision"
            f"{'s' if len(revisions) != 1 else ''}" + (f" shown ({d['more']})" if d.get("more") else "") +
            f":\n{table(revisions, HELM_COLUMNS)}")


def helm_list(d: Data) -> str:
    releases = d.get("releases") or []
    where = f" in namespace {d['namespace']}" if d.get("namespace") else ""
    if not releases:
        return f"No Helm releases{where}."
    return f"{len(releases)} Helm release{'s' if len(releases) != 1 else ''}{where}:\n{table(releases, HELM_COLUMNS)}"


def helm_status(d: Data) -> str:
    head = (f"Helm release {d.get('name')}{_in(d)}: revision {d.get('revision')}, {d.get('status')}, chart "
            f"{d.get('chart')}" + (f", app version {d['app_version']}" if d.get("app_version") else "")
            + (f", updated {d['updated']}" if d.get("updated") else "")
            + (f" ({d['description']})" if d.get("description") else "") + ".")
    managed = d.get("resources") or []
    return head + (f"\nIt manages: {', '.join(managed)}" if managed else "")


def helm_values(d: Data) -> str:
    which = "All values" if d.get("all_values") else "User-supplied values"
    values = d.get("values") or {}
    body = dump(values) if values else "(none)"
    return f"{which} of Helm release {d.get('release')}{_in(d)} (revision {d.get('revision')}):\n{body}"


def rollout_status(d: Data) -> str:
    return (f"Rollout of {_obj(d)}: {d.get('message')} (desired {d.get('desired')}, updated {d.get('updated')}, "
            f"ready {d.get('ready')}, available {d.get('available')}).")


def rollout_history(d: Data) -> str:
    rows = [{**r, "images": ", ".join(r.get("images") or [])} for r in d.get("revisions") or []]
    columns = (("revision", "REVISION"), ("change_cause", "CHANGE-CAUSE"), ("images", "IMAGES"), ("pods", "PODS"),
               ("created", "CREATED"))
    return f"Deployment {d.get('name')}{_in(d)} is at revision {d.get('current_revision')}:\n{table(rows, columns)}"


def resource(d: Data) -> str:
    if d.get("yaml"):
        return f"{d.get('kind')} {d.get('name')}{_in(d)}:\n{d['yaml']}"
    row = d.get("row") or {}
    facts = d.get("facts") or {}
    summary = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in row.items() if k not in ("name", "namespace") and v)
    return f"{d.get('kind')} {d.get('name')}{_in(d)}: {summary}" + (f"\n{dump(facts)}" if facts else "")


def description(d: Data) -> str:
    parts = [resource({k: v for k, v in d.items() if k in ("kind", "name", "namespace", "row", "facts")})]
    for key in ("conditions", "containers"):
        if d.get(key):
            parts.append(f"{key.capitalize()}:\n{dump(d[key])}")
    parts.append(events({"events": d.get("events") or [], "scope": f"{d.get('kind')} {d.get('name')}",
                         "total": len(d.get("events") or [])}))
    return "\n".join(parts)


def images(d: Data) -> str:
    if "items" in d:
        rows = d.get("items") or []
        if not rows:
            return f"No deployments in {d.get('scope')}."
        return f"Images of the deployments in {d.get('scope')}:\n" + table(
            rows, (("namespace", "NAMESPACE"), ("name", "DEPLOYMENT"), ("images", "IMAGES"), ("ready", "READY")))
    containers = (d.get("facts") or {}).get("containers") or {}
    listed = "; ".join(f"{c}: {i}" for c, i in containers.items()) if isinstance(containers, dict) else str(containers)
    return f"{d.get('kind')} {d.get('name')}{_in(d)} runs {listed or (d.get('row') or {}).get('images')}."


def can_i(d: Data) -> str:
    return f"{str(d.get('answer', '')).capitalize()}: {d.get('question')} ({d.get('reason') or d.get('user')})."


BY_TOOL: dict[str, Callable[[Data], str]] = {
    "scale": scale, "set_image": set_image, "rollout_restart": restart, "rollout_undo": undo,
    "helm_install": helm_change, "helm_upgrade": helm_change, "helm_rollback": helm_change,
    "helm_uninstall": helm_uninstall, "create_namespace": create_namespace, "delete_namespace": delete_namespace,
    "delete_resource": delete_resource, "set_env": set_env, "set_resources": set_resources, "autoscale": autoscale,
    "cordon": node, "uncordon": node, "drain": drain, "apply_manifest": applied, "list_resources": resources,
    "list_namespaces": namespaces, "get_logs": logs, "get_events": events, "check_health": health,
    "helm_history": helm_history, "helm_list": helm_list, "helm_status": helm_status, "helm_get_values": helm_values,
    "rollout_status": rollout_status, "rollout_history": rollout_history, "get_resource": resource,
    "describe_resource": description, "can_i": can_i,
}
