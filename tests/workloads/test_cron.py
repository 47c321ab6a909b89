"""The cron schedule parser and next-activation search."""

from __future__ import annotations

import datetime as dt

import pytest

from sandbox.controllers import cron

UTC = dt.UTC


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_every_minute() -> None:
    s = cron.parse("*/1 * * * *")
    assert cron.next_after(s, at(2024, 1, 1, 12, 0, 30)) == at(2024, 1, 1, 12, 1)
    assert cron.next_after(s, at(2024, 1, 1, 12, 1)) == at(2024, 1, 1, 12, 2)


def test_fields_ranges_lists_steps() -> None:
    s = cron.parse("5,35 9-17/4 * * *")
    assert s.minutes == {5, 35}
    assert s.hours == {9, 13, 17}
    assert cron.parse("10/20 * * * *").minutes == {10, 30, 50}
    assert cron.next_after(s, at(2024, 1, 1, 17, 36)) == at(2024, 1, 2, 9, 5)


def test_names_and_macros() -> None:
    assert cron.parse("0 0 * JAN-MAR mon,FRI").months == {1, 2, 3}
    assert cron.parse("0 0 * JAN-MAR mon,FRI").weekdays == {1, 5}
    hourly = cron.parse("@hourly")
    assert cron.next_after(hourly, at(2024, 5, 5, 7, 59)) == at(2024, 5, 5, 8, 0)
    assert cron.next_after(cron.parse("@yearly"), at(2024, 5, 5)) == at(2025, 1, 1)
    assert cron.next_after(cron.parse("@weekly"), at(2024, 5, 1)) == at(2024, 5, 5)  # a Sunday
    assert cron.next_after(cron.parse("@monthly"), at(2024, 1, 31, 1)) == at(2024, 2, 1)


def test_day_of_month_or_day_of_week() -> None:
    # both restricted: either matches (1st of the month, or a Monday)
    s = cron.parse("0 0 1 * 1")
    assert cron.next_after(s, at(2024, 1, 1, 0, 0)) == at(2024, 1, 8)
    assert cron.next_after(s, at(2024, 1, 29, 1)) == at(2024, 2, 1)
    # one is a star: both must match
    assert cron.next_after(cron.parse("0 0 * * 1"), at(2024, 1, 1)) == at(2024, 1, 8)
    assert cron.next_after(cron.parse("0 0 29 2 *"), at(2024, 3, 1)) == at(2028, 2, 29)


def test_time_zone() -> None:
    s = cron.parse("0 9 * * *")
    tz = cron.zone("America/New_York")
    assert cron.next_after(s, at(2024, 1, 1, 0, 0), tz) == at(2024, 1, 1, 14, 0)
    assert cron.next_after(s, at(2024, 7, 1, 0, 0), tz) == at(2024, 7, 1, 13, 0)
    with pytest.raises(cron.CronError):
        cron.zone("Mars/Olympus")


def test_every_duration() -> None:
    s = cron.parse("@every 1h30m")
    assert s.every == 5400
    assert cron.next_after(s, at(2024, 1, 1, 0, 0)) == at(2024, 1, 1, 1, 30)


@pytest.mark.parametrize("bad", ["* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
                                 "* * * * 7", "5-1 * * * *", "*/0 * * * *", "@fortnightly", "a * * * *",
                                 "@every x"])
def test_invalid(bad: str) -> None:
    with pytest.raises(cron.CronError):
        cron.parse(bad)


def test_most_recent_counts_missed() -> None:
    s = cron.parse("*/10 * * * *")
    latest, missed = cron.most_recent(s, at(2024, 1, 1, 0, 0), at(2024, 1, 1, 1, 5))
    assert latest == at(2024, 1, 1, 1, 0)
    assert missed == 6
    assert cron.most_recent(s, at(2024, 1, 1, 0, 0), at(2024, 1, 1, 0, 9)) == (None, 0)
