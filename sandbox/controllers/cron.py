"""Cron schedules as the CronJob controller reads them (robfig/cron's standard parser):
five fields (minute, hour, day of month, month, day of week) with ``*``, ``?``, lists,
ranges, steps and month/day names, the ``@yearly`` … ``@hourly`` macros and
``@every <duration>``; the next activation after a time, in a time zone."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class CronError(ValueError):
    """A schedule or time zone that cannot be parsed."""


MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
MONTHS = {name: n for n, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
DAYS = {name: n for n, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
BOUNDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, MONTHS), (0, 6, DAYS))
FIELD_NAMES = ("minute", "hour", "day of month", "month", "day of week")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
SEARCH_YEARS = 5


@dataclass(frozen=True)
class Schedule:
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()
    dom_star: bool = False
    dow_star: bool = False
    every: float = 0.0  # seconds, for "@every"

    def day_matches(self, day: dt.datetime) -> bool:
        dom = day.day in self.days
        dow = (day.weekday() + 1) % 7 in self.weekdays
        if self.dom_star or self.dow_star:
            return dom and dow
        return dom or dow


def parse_duration(text: str) -> float:
    """A Go duration (``1h30m``, ``90s``) in seconds."""
    pos, total = 0, 0.0
    if not text:
        raise CronError(f"time: invalid duration {text!r}")
    while pos < len(text):
        found = _DURATION.match(text, pos)
        if not found:
            raise CronError(f"time: invalid duration {text!r}")
        total += float(found.group(1)) * _UNITS[found.group(2)]
        pos = found.end()
    return total


def _number(text: str, names: dict[str, int], field: str) -> int:
    lowered = text.lower()
    if lowered in names:
        return names[lowered]
    if not text.isdigit():
        raise CronError(f"failed to parse int from {text}: strconv.Atoi: parsing {text!r}: invalid syntax"
                        if not names else f"failed to parse {field}: {text}")
    return int(text)


def _field(text: str, index: int) -> tuple[frozenset[int], bool]:
    low, high, names = BOUNDS[index]
    field = FIELD_NAMES[index]
    values: set[int] = set()
    star = False
    for part in text.split(","):
        if not part:
            raise CronError(f"empty {field} field")
        span, _, step_text = part.partition("/")
        step = 1
        if span in ("*", "?"):
            start, end, star_part = low, high, True
        else:
            star_part = False
            first, dash, last = span.partition("-")
            start = _number(first, names, field)
            end = _number(last, names, field) if dash else start
            if step_text and not dash:
                end = high
        if step_text:
            step = _number(step_text, {}, field)
            if step <= 0:
                raise CronError(f"step of range should be a positive number: {part}")
            if step > 1:
                star_part = False
        if start < low:
            raise CronError(f"beginning of range ({start}) below minimum ({low}): {part}")
        if end > high:
            raise CronError(f"end of range ({end}) above maximum ({high}): {part}")
        if start > end:
            raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {part}")
        values.update(range(start, end + 1, step))
        star = star or star_part
    return frozenset(values), star


def parse(spec: str) -> Schedule:
    """Parse a schedule, raising :class:`CronError` as the controller reports it."""
    text = spec.strip()
    if text.startswith("@every "):
        seconds = parse_duration(text[len("@every "):].strip())
        return Schedule(every=max(1.0, float(int(seconds))))
    if text.startswith("@"):
        if text not in MACROS:
            raise CronError(f"unrecognized descriptor: {text}")
        text = MACROS[text]
    fields = text.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: {text}")
    parsed = [_field(f, i) for i, f in enumerate(fields)]
    return Schedule(minutes=parsed[0][0], hours=parsed[1][0], days=parsed[2][0], months=parsed[3][0],
                    weekdays=parsed[4][0], dom_star=parsed[2][1], dow_star=parsed[4][1])


def zone(name: str | None) -> dt.tzinfo:
    """The time zone of ``spec.timeZone`` (UTC, as kube-controller-manager runs, when unset)."""
    if not name:
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CronError(f"unknown time zone {name}") from exc


def next_after(schedule: Schedule, after: dt.datetime, tz: dt.tzinfo = dt.UTC) -> dt.datetime:
    """The first activation strictly after ``after`` (an aware time), aware in UTC."""
    if schedule.every:
        base = after.replace(microsecond=0)
        return (base + dt.timedelta(seconds=schedule.every)).astimezone(dt.UTC)
    local = after.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0) + dt.timedelta(minutes=1)
    limit = local.year + SEARCH_YEARS
    while local.year <= limit:
        if local.month not in schedule.months:
            year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
            local = dt.datetime(year, month, 1)
            continue
        if not schedule.day_matches(local):
            local = dt.datetime(local.year, local.month, local.day) + dt.timedelta(days=1)
            continue
        if local.hour not in schedule.hours:
            local = local.replace(minute=0) + dt.timedelta(hours=1)
            continue
        if local.minute not in schedule.minutes:
            local += dt.timedelta(minutes=1)
            continue
        found = local.replace(tzinfo=tz).astimezone(dt.UTC)
        if found > after:
            return found
        local += dt.timedelta(minutes=1)
    raise CronError("the schedule never activates")


def most_recent(schedule: Schedule, since: dt.datetime, until: dt.datetime, tz: dt.tzinfo = dt.UTC,
                cap: int = 100_000) -> tuple[dt.datetime | None, int]:
    """The latest activation in (since, until] and how many activations fell in it."""
    latest: dt.datetime | None = None
    count = 0
    when = next_after(schedule, since, tz)
    while when <= until and count < cap:
        latest, count = when, count + 1
        when = next_after(schedule, when, tz)
    return latest, count
