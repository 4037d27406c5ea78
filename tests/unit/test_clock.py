"""The service's clocks: a scenario's replay runs forward from its instant (at its rate),
CLEARANCE_NOW stands still, and ``clock_for`` picks between them. The replay is driven by
a fake monotonic source: no sleeps."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from clearance.adapters.clock import ReplayClock, SystemClock
from clearance.adapters.scenario_loader import load_scenario
from clearance.bootstrap import clock_for
from clearance.config import Settings
from clearance.domain.clearance.scenario import ScenarioClock
from clearance.domain.errors import ScenarioError
from clearance.service.ports import PinnedClock

START = datetime(2017, 11, 20, tzinfo=UTC)
NIGER = Path(__file__).resolve().parents[2] / "examples" / "niger"


class FakeMonotonic:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def test_a_replay_starts_at_its_instant_and_runs_at_real_speed() -> None:
    ticks = FakeMonotonic()
    clock = ReplayClock(START, monotonic=ticks)
    assert clock.now() == START
    assert clock.rate == 1
    ticks.seconds += 90.5
    assert clock.now() == START + timedelta(seconds=90.5)
    ticks.seconds += 86_400
    assert clock.now() == START + timedelta(days=1, seconds=90.5)


def test_a_replay_runs_at_its_rate() -> None:
    ticks = FakeMonotonic()
    clock = ReplayClock(START, 60, monotonic=ticks)
    ticks.seconds += 60
    assert clock.now() == START + timedelta(hours=1)
    assert clock.rate == 60


def test_a_replay_at_rate_0_stands_still() -> None:
    ticks = FakeMonotonic()
    clock = ReplayClock(START, 0, monotonic=ticks)
    ticks.seconds += 3600
    assert clock.now() == START


def test_a_replay_continues_from_when_its_version_was_made_current() -> None:
    """Every process (and a restart) reads the same wall-clock ``since`` from the
    database, so their replays agree instead of each starting over at ``start``."""
    ticks = FakeMonotonic()
    since = datetime.now(UTC) - timedelta(minutes=1)  # made current a real minute ago
    clock = ReplayClock(START, 60, since=since, monotonic=ticks)
    elapsed = clock.now() - START
    assert timedelta(hours=1) <= elapsed < timedelta(hours=2)  # an hour, and then some
    later = ReplayClock(START, 60, since=since, monotonic=ticks)  # another process
    assert abs(later.now() - clock.now()) < timedelta(minutes=30)
    assert ReplayClock(START, 60, monotonic=ticks).now() == START  # no since: starts now


def test_clock_for_starts_the_replay_where_the_database_says() -> None:
    scenario = load_scenario(NIGER)
    assert scenario.clock is not None
    assert scenario.clock.rate == 1
    since = datetime.now(UTC) - timedelta(days=1)
    clock = clock_for(scenario, Settings("sqlite://", None), since)
    assert timedelta(days=1) <= clock.now() - scenario.clock.start < timedelta(days=2)


def test_a_pinned_clock_stands_still_and_says_so() -> None:
    clock = PinnedClock(START)
    assert clock.now() == clock.now() == START
    assert clock.rate == 0
    assert SystemClock().rate == 1


def settings(now: datetime | None = None) -> Settings:
    return Settings(database_url="sqlite://", now=now)


def test_clock_for_pins_clearance_now_over_the_scenarios_replay() -> None:
    scenario = load_scenario(NIGER)
    pinned = clock_for(scenario, settings(now=START + timedelta(days=3)))
    assert isinstance(pinned, PinnedClock)
    assert pinned.now() == START + timedelta(days=3)


def test_clock_for_replays_the_scenarios_clock_from_now_on() -> None:
    scenario = load_scenario(NIGER)
    assert scenario.clock == ScenarioClock(START, 1.0)  # the example's plain instant
    clock = clock_for(scenario, settings())
    assert isinstance(clock, ReplayClock)
    assert (clock.start, clock.rate) == (START, 1.0)
    assert START <= clock.now() < START + timedelta(minutes=10)
    scenario.clock = None
    assert isinstance(clock_for(scenario, settings()), SystemClock)


# -- the scenario's ``clock:`` ---------------------------------------------------------------


def scenario_with_clock(tmp_path: Path, clock: object) -> Path:
    directory = tmp_path / "niger"
    shutil.copytree(NIGER, directory, ignore=shutil.ignore_patterns("requests"))
    main = directory / "scenario.yaml"
    data = yaml.safe_load(main.read_text(encoding="utf-8"))
    data["clock"] = clock
    main.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return directory


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        ("2017-11-20T00:00:00Z", ScenarioClock(START, 1.0)),
        ({"start": "2017-11-20T01:00:00+01:00"}, ScenarioClock(START, 1.0)),
        ({"start": "2017-11-20T00:00:00Z", "rate": 60}, ScenarioClock(START, 60.0)),
        ({"start": "2017-11-20T00:00:00Z", "rate": 0.5}, ScenarioClock(START, 0.5)),
        ({"start": "2017-11-20T00:00:00Z", "rate": 0}, ScenarioClock(START, 0.0)),
    ],
)
def test_a_scenario_clock_is_an_instant_or_a_start_and_a_rate(
    tmp_path: Path, clock: object, expected: ScenarioClock
) -> None:
    assert load_scenario(scenario_with_clock(tmp_path, clock)).clock == expected


@pytest.mark.parametrize(
    ("clock", "field", "words"),
    [
        ("yesterday", "clock", "RFC 3339"),
        (5, "clock", "RFC 3339"),
        ({"rate": 60}, "clock.start", "is required"),
        ({"start": "2017-11-20T00:00:00"}, "clock.start", "UTC offset"),
        ({"start": "2017-11-20T00:00:00Z", "rate": -1}, "clock.rate", "0..1000000"),
        ({"start": "2017-11-20T00:00:00Z", "rate": 1e7}, "clock.rate", "0..1000000"),
        ({"start": "2017-11-20T00:00:00Z", "rate": True}, "clock.rate", "must be a number"),
        ({"start": "2017-11-20T00:00:00Z", "rate": "fast"}, "clock.rate", "must be a number"),
        ({"start": "2017-11-20T00:00:00Z", "speed": 2}, "clock.speed", "unknown field"),
    ],
)
def test_a_bad_scenario_clock_names_the_field(
    tmp_path: Path, clock: object, field: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as raised:
        load_scenario(scenario_with_clock(tmp_path, clock))
    assert raised.value.field == field
    assert raised.value.source.endswith("scenario.yaml")
    assert words in str(raised.value)
