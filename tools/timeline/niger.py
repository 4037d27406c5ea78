"""Write examples/niger/timeline.yaml: the 2017 story as a dated script, with weeks of
routine history around it (illustrative dates and waits, from a fixed seed, so the file
is the same on every run).

    python tools/timeline/niger.py > examples/niger/timeline.yaml

Routine history, 21 August to 20 November 2017: unarmed US ISR from Niamey and
French operations (cleared by grant and policy, no one's time), operations crossing into
Mali (denied by Mali's policy), US ISR crossing into Nigeria (Niger's and Nigeria's
defence staffs decide by hand), and the US armed overwatch planned from Agadez for
2020, once Air Base 201 is operational (DoD, then State, then Niger's defence staff and
Prime Minister decide by hand). Each operation has a day of its own, so none holds
another's airspace. The story's own steps are written out below ("story").
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

END = datetime(2017, 11, 20, tzinfo=UTC)  # the scenario's clock: the demo starts here
FIRST = datetime(2017, 8, 21, 7, tzinfo=UTC)
MEMBERS = {
    "US.DoD": "dod-duty-officer",
    "US.State": "state-africa-desk",
    "NE.Defense": "ne-defense-staff",
    "NE.PM": "ne-pm-office",
    "NG.Defense": "ng-defense-staff",
}
# (illustrative) how long each desk takes, in hours: a log-normal around the median
MEDIAN_HOURS = {
    "US.DoD": 30,
    "US.State": 90,
    "NE.Defense": 40,
    "NE.PM": 100,
    "NG.Defense": 70,
}
STORY_DAYS = {datetime(2017, 10, 4).date()}
TAKEN = {datetime(2017, 11, d).date() for d in range(21, 30)} | {
    datetime(2020, 3, d).date() for d in range(2, 7)
}

rng = random.Random(2017)
steps: list[tuple[datetime, int, str]] = []
seq = 0


def t(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def add(at: datetime, body: str, note: str = "", illustrative: bool = True) -> None:
    global seq
    seq += 1
    lines = [f"  - at: {t(at)}"]
    if illustrative:
        lines.append("    illustrative: true")
    if note:
        lines.append(f'    note: "{note}"')
    lines.append(f"    {body}")
    steps.append((at, seq, "\n".join(lines)))


def day_for(after: datetime, earliest_days: int) -> datetime:
    """A start on a day no other operation has, at least ``earliest_days`` ahead."""
    day = (after + timedelta(days=earliest_days)).replace(hour=6, minute=0, second=0)
    while day.date() in TAKEN or day.date() in STORY_DAYS:
        day += timedelta(days=1)
    TAKEN.add(day.date())
    return day


def wait(authority: str) -> timedelta:
    hours = MEDIAN_HOURS[authority] * rng.lognormvariate(0, 0.6)
    return timedelta(hours=max(0.5, hours))


def decide(at: datetime, ref: str, authority: str, approve: bool, comment: str) -> None:
    decision = "approve" if approve else "deny"
    add(
        at,
        f"decide: {{ref: {ref}, authority: {authority}, as: {MEMBERS[authority]}, "
        f'decision: {decision}, comment: "{comment}"}}',
    )


def submitted(ref: str, request: str, at: datetime, start: datetime) -> None:
    add(at, f"submit: {{ref: {ref}, request: {request}, start: {t(start)}}}")


def routine() -> None:
    n = 0
    at = FIRST
    while at < END - timedelta(days=2):
        n += 1
        kind = rng.choices(["isr", "fr", "mali", "nigeria", "agadez"], [5, 3, 1, 3, 4])[0]
        ref = f"r{n:02d}"
        if kind == "isr":
            request = rng.choice(["01-us-isr-ouallam", "02-us-isr-river-route"])
            submitted(ref, request, at, day_for(at, rng.randint(1, 4)))
        elif kind == "fr":
            request = rng.choice(["06-fr-armed-overwatch-niamey", "07-fr-isr-tahoua"])
            submitted(ref, request, at, day_for(at, rng.randint(1, 3)))
        elif kind == "mali":
            request = rng.choice(["08-us-isr-over-mali", "11-us-isr-niger-then-mali"])
            submitted(ref, request, at, day_for(at, rng.randint(2, 5)))
        elif kind == "nigeria":
            start = day_for(at, 8)
            submitted(ref, "13-us-isr-into-nigeria", at, start)
            for when, authority in sorted((at + wait(a), a) for a in ("NE.Defense", "NG.Defense")):
                if when >= END or when >= start - timedelta(hours=2):
                    continue  # still waiting at the end, or left to expire
                ok = rng.random() < (0.9 if authority == "NE.Defense" else 0.75)
                decide(when, ref, authority, ok, "route agreed" if ok else "not over our border")
                if not ok:
                    break
        else:
            start = day_for(datetime(2020, 1, 6, tzinfo=UTC), rng.randint(0, 150))
            submitted(ref, "05-us-armed-overwatch-agadez-2020", at, start)
            when = at
            for stage in (["US.DoD"], ["US.State"], ["NE.Defense", "NE.PM"]):
                ends = []
                denied = False
                # the stage's authorities in parallel: a denial ends it for the others
                for decided, authority in sorted((when + wait(a), a) for a in stage):
                    if decided >= END:
                        continue
                    ok = rng.random() < 0.9
                    comment = "concur once AB 201 is operational" if ok else "not for now"
                    decide(decided, ref, authority, ok, comment)
                    ends.append(decided)
                    if not ok:
                        denied = True
                        break
                if denied or len(ends) < len(stage):
                    break
                when = max(ends)
        at += timedelta(hours=rng.uniform(20, 44))


def story() -> None:
    """The 2017 story (the dates but 4 October are illustrative)."""
    add(
        datetime(2017, 10, 2, 9, tzinfo=UTC),
        "submit: {ref: patrol-isr, request: 01-us-isr-ouallam, start: 2017-10-04T05:00:00Z}",
        "ISR over the partnered patrol near the Mali border: cleared at once by grant",
    )
    add(
        datetime(2017, 10, 2, 10, tzinfo=UTC),
        "submit: {ref: patrol-armed-niamey, request: 03-us-armed-overwatch-niamey, "
        "start: 2017-10-04T04:00:00Z}",
        "an armed drone with the patrol, from Niamey: no US munitions storage there",
    )
    add(
        datetime(2017, 10, 2, 11, tzinfo=UTC),
        "submit: {ref: patrol-armed-agadez, request: 04-us-armed-overwatch-agadez-2017, "
        "start: 2017-10-04T04:00:00Z}",
        "the same from Agadez: Air Base 201 is still under construction",
    )
    add(
        datetime(2017, 10, 4, 12, tzinfo=UTC),
        "withdraw: {ref: patrol-isr}",
        "4 October 2017: the patrol is ambushed; the rest of its ISR is called off",
        illustrative=False,
    )
    # a month later: Niger asks for armed drones; the US plans them from Agadez
    at = datetime(2017, 11, 6, 9, tzinfo=UTC)
    add(
        at,
        "submit: {ref: armed-after-ambush, request: 05-us-armed-overwatch-agadez-2020, "
        "start: 2020-02-03T04:00:00Z}",
        "after Niger's Defence Minister asks the US to arm its drones",
    )
    decide(at + timedelta(hours=20), "armed-after-ambush", "US.DoD", True, "urgent after 4 October")
    add(
        at + timedelta(days=2),
        "amend: {ref: armed-after-ambush, request: 05-us-armed-overwatch-agadez-2020, "
        "start: 2020-02-10T04:00:00Z}",
        "moved a week later; the approvals it does not touch are kept",
    )
    # the shipped examples as they stand on the scenario's date: the demo's requests
    for i, name in enumerate(
        [
            "01-us-isr-ouallam",
            "02-us-isr-river-route",
            "03-us-armed-overwatch-niamey",
            "04-us-armed-overwatch-agadez-2017",
            "05-us-armed-overwatch-agadez-2020",
            "06-fr-armed-overwatch-niamey",
            "07-fr-isr-tahoua",
            "08-us-isr-over-mali",
            "09-us-isr-crossing-into-mali",
            "10-us-mq1b-agadez-far-west",
            "11-us-isr-niger-then-mali",
            "12-us-isr-agadez-2020",
            "13-us-isr-into-nigeria",
        ]
    ):
        add(
            END - timedelta(hours=12 - i),
            f"submit: {{ref: example-{name[:2]}, request: {name}}}",
            "one of the shipped example requests" if i == 0 else "",
        )


routine()
story()
print("# The Niger story of 2017 as a dated script, with weeks of routine history around it.")
print("# Written by tools/timeline/niger.py (fixed seed); dates marked illustrative are chosen,")
print("# not recorded (the seed gives only 4 October 2017, the ambush). Replay it with")
print("#   clearance replay examples/niger/timeline.yaml")
print("scenario: .")
print("planners: {US.AFRICOM: africom-planner, FR.Barkhane: barkhane-planner}")
print("steps:")
for _, _, text in sorted(steps):
    print(text)
