"""How one meeting went (``meeting_report``) and who met whom there (``meeting_network``).

Definitions (each tested in tests/services/test_insights.py):

- **present**, **first-timer**: ``rules.present`` and ``rules.first_timer`` — the door's
  definitions. ``returning`` = present − first-timers.
- **registered**: status going, and not checked in as a walk-in (walk-ins came without a place);
  **walk-ins**: present, checked in as ``walk_in``; **no-shows**: registered and not present;
  **cancelled**, **waitlist**: by status.
- **arrivals**: check-ins per 10 minutes, ``minute = floor((checked_in_at − starts_at) / 10 min)
  × 10`` (negative before the start), from the first bucket with a check-in to the last, the
  buckets between filled with 0.
- **connections**: the connections recorded at the meeting between two people present (the
  lines of the picture: a check-in undone takes its lines with it). **Per attendee**: over
  everyone present, people who met nobody counted as 0; the median as a float (0.0 when nobody
  came) and the distribution as ``(connections, attendees)`` pairs, ascending.
- **met nobody**: present, no connection at the meeting; first-timers first, then by name.
- **follow-ups**: the follow-up emails by outbox status, follow-ups marked done, goals set and
  reported done — ``followups.counts``, the same counts as the follow-ups page.

Names: everyone listed is present at one of the group's meetings, so has taken part
(``members.engaged``): organisers see the account's own name. Never notes, never goal text.

Statements: ``meeting_report`` runs four, ``meeting_network`` two, whatever the size: the
registration counts (aggregated by the database), the people present (id, name, first-timer,
check-in time), the pairs (one string of ids per person) and the follow-up counts.
"""

import json
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import repeat

from sqlalchemy import String, cast, func, select

from ...extensions import db
from ...models import Connection, Meeting, Registration, User
from ...models.vocabularies import GoalOutcome, MailStatus, RegistrationStatus
from .. import rules
from ..followups.organiser_counts import counts as followup_counts
from . import Bucket, MeetingReport, Network, Person, count_where

BUCKET = timedelta(minutes=10)


def _registration_counts(meeting: Meeting):
    """One row: registered, checked in, no-shows, walk-ins, cancelled, waitlist."""
    return db.session.execute(
        select(
            count_where(rules.registered()),
            count_where(rules.present()),
            count_where(rules.registered() & ~rules.present()),
            count_where(rules.present() & rules.walked_in()),
            count_where(Registration.status == RegistrationStatus.CANCELLED),
            count_where(Registration.status == RegistrationStatus.WAITLIST),
        ).where(Registration.meeting_id == meeting.id)
    ).one()


@dataclass
class _Present:
    """Everyone present, by user id, as columns: plain values, no row object kept per person
    (see ``_met_lists``)."""

    ids: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    first_timers: list[bool] = field(default_factory=list)
    checked_in_at: list[datetime] = field(default_factory=list)


def _present(meeting: Meeting, with_times: bool = False) -> _Present:
    columns = [Registration.user_id, User.name, rules.first_timer()]
    if with_times:
        columns.append(Registration.checked_in_at)
    rows = db.session.execute(
        select(*columns)
        .join(User, User.id == Registration.user_id)
        .where(Registration.meeting_id == meeting.id, rules.present())
        .order_by(Registration.user_id)
    )
    present = _Present()
    for row in rows:
        present.ids.append(row[0])
        present.names.append(row[1])
        present.first_timers.append(bool(row[2]))
        if with_times:
            present.checked_in_at.append(row[3])
    return present


def _met_lists(meeting: Meeting, here: set[int]) -> Iterator[tuple[int, list[int]]]:
    """The connections at ``meeting`` between two people in ``here`` (a check-in undone leaves
    its connections behind): per person ``a``, the ids of the people with a larger id they met.

    One row per person, the ids joined into one string by the database. 100,000 pairs as rows
    of two integers took ~200 ms in SQLAlchemy's result rows (the driver's own share ~40 ms);
    as ~5,000 strings ~30 ms with the parsing (5,000 people, SQLite). Yielded as read, so that
    nothing per row outlives its turn: 100,000 objects kept alive trigger a full garbage
    collection of the process on most calls (~100 ms here)."""
    rows = db.session.execute(
        select(
            Connection.user_a_id, func.aggregate_strings(cast(Connection.user_b_id, String), ",")
        )
        .where(Connection.meeting_id == meeting.id)
        .group_by(Connection.user_a_id)
        .order_by(Connection.user_a_id)
    )
    keep = here.__contains__
    for a, ids in rows:
        if a in here:
            others = list(filter(keep, json.loads(f"[{ids}]")))
            if others:
                yield a, others


def _count(met: Counter, a: int, others: list[int]) -> None:
    met[a] += len(others)
    met.update(others)


def _distribution(present: _Present, met: Counter) -> list[tuple[int, int]]:
    return sorted(Counter(met[uid] for uid in present.ids).items())


def _median(distribution: list[tuple[int, int]]) -> float:
    """The median of the counts ``distribution`` holds, without spelling out every attendee."""
    total = sum(v for _, v in distribution)
    if not total:
        return 0.0
    # The values at the two middle positions (the same one when the total is odd).
    wanted = sorted({(total - 1) // 2, total // 2})
    found, seen = [], 0
    for value, how_many in distribution:
        while wanted and wanted[0] < seen + how_many:
            found.append(value)
            wanted.pop(0)
        seen += how_many
    return float(statistics.fmean(found))


def _met_nobody(present: _Present, met: Counter) -> list[Person]:
    nobody = [
        Person(uid, name, first, 0)
        for uid, name, first in zip(present.ids, present.names, present.first_timers, strict=True)
        if not met[uid]
    ]
    return sorted(nobody, key=lambda p: (not p.first_timer, p.name.casefold(), p.user_id))


def _arrivals(meeting: Meeting, present: _Present) -> list[Bucket]:
    """Check-ins per 10 minutes from the start (the bucket arithmetic on datetimes differs
    between SQLite and PostgreSQL: done here, on the times already read)."""
    per = Counter((at - meeting.starts_at) // BUCKET * 10 for at in present.checked_in_at)
    if not per:
        return []
    first, last = min(per), max(per)
    return [Bucket(minute, per[minute]) for minute in range(first, last + 10, 10)]


def meeting_report(meeting: Meeting) -> MeetingReport:
    """How ``meeting`` went: registrations, arrivals, connections and follow-ups (counts and
    the names of people present who met nobody; never notes or goals)."""
    registered_n, checked_in, no_shows, walk_ins, cancelled, waitlist = _registration_counts(
        meeting
    )
    present = _present(meeting, with_times=True)
    met: Counter = Counter()
    for a, others in _met_lists(meeting, set(present.ids)):
        _count(met, a, others)
    distribution = _distribution(present, met)
    first_timers = sum(present.first_timers)
    followups = followup_counts(meeting.id)
    return MeetingReport(
        meeting_id=meeting.id,
        registered=registered_n,
        checked_in=checked_in,
        no_shows=no_shows,
        walk_ins=walk_ins,
        cancelled=cancelled,
        waitlist=waitlist,
        first_timers=first_timers,
        returning=checked_in - first_timers,
        arrivals=_arrivals(meeting, present),
        connections=met.total() // 2,
        connections_per_attendee_median=_median(distribution),
        distribution=distribution,
        met_nobody=_met_nobody(present, met),
        followups_sent=followups.emails[MailStatus.SENT],
        followups_failed=followups.emails[MailStatus.FAILED],
        followups_pending=followups.emails[MailStatus.PENDING]
        + followups.emails[MailStatus.SENDING],
        followups_done=followups.followups_done,
        goals_set=followups.goals_set,
        goals_done=followups.goals_answered[GoalOutcome.DONE],
    )


def meeting_network(meeting: Meeting) -> Network:
    """Everyone present at ``meeting`` (by user id) and every connection between two of them:
    two statements, the people and the pairs."""
    present = _present(meeting)
    met: Counter = Counter()
    pairs: list[tuple[int, int]] = []
    for a, others in _met_lists(meeting, set(present.ids)):
        _count(met, a, others)
        pairs.extend(zip(repeat(a), others))
    return Network(
        people=[
            Person(uid, name, first, met[uid])
            for uid, name, first in zip(
                present.ids, present.names, present.first_timers, strict=True
            )
        ],
        pairs=pairs,
    )
