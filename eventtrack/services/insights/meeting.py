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
from datetime import timedelta
from itertools import chain, repeat

from sqlalchemy import String, case, cast, func, select

from ...extensions import db
from ...models import Connection, Meeting, Registration, User
from ...models.vocabularies import CheckinHow, GoalOutcome, MailStatus, RegistrationStatus
from .. import rules
from ..followups.organiser_counts import counts as followup_counts
from . import Bucket, MeetingReport, Network, Person

BUCKET = timedelta(minutes=10)


def _walk_in(registration=Registration):
    return registration.checkin_how == CheckinHow.WALK_IN


def registered(registration=Registration):
    """Holds a place (going) and did not come as a walk-in."""
    return (registration.status == RegistrationStatus.GOING) & (
        registration.checkin_how.is_(None) | ~_walk_in(registration)
    )


def _sum(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _registration_counts(meeting: Meeting):
    """One row: registered, checked in, no-shows, walk-ins, cancelled, waitlist."""
    return db.session.execute(
        select(
            _sum(registered()),
            _sum(rules.present()),
            _sum(registered() & ~rules.present()),
            _sum(rules.present() & _walk_in()),
            _sum(Registration.status == RegistrationStatus.CANCELLED),
            _sum(Registration.status == RegistrationStatus.WAITLIST),
        ).where(Registration.meeting_id == meeting.id)
    ).one()


def _present(meeting: Meeting, *columns):
    """Rows (user id, name, first-timer, *columns) of everyone present, by user id."""
    return db.session.execute(
        select(Registration.user_id, User.name, rules.first_timer(), *columns)
        .join(User, User.id == Registration.user_id)
        .where(Registration.meeting_id == meeting.id, rules.present())
        .order_by(Registration.user_id)
    ).all()


def _connections(meeting: Meeting, here: set[int]) -> tuple[list[tuple[int, list[int]]], Counter]:
    """The connections at ``meeting`` between two people in ``here``: per person ``a``, the ids
    of the people with a larger id they met; and how many people each person met.

    Read as one row per person: the ids joined into one string by the database and parsed as
    one JSON document. 100,000 pairs as rows of two integers took ~200 ms in SQLAlchemy's
    result rows (the driver's own share ~40 ms); as ~5,000 strings, ~30 ms with the parsing
    and counting (5,000 people, 100,000 pairs, SQLite)."""
    rows = db.session.execute(
        select(
            Connection.user_a_id, func.aggregate_strings(cast(Connection.user_b_id, String), ",")
        )
        .where(Connection.meeting_id == meeting.id)
        .group_by(Connection.user_a_id)
        .order_by(Connection.user_a_id)
    ).all()
    others = json.loads("[[" + "],[".join(ids for _, ids in rows) + "]]") if rows else []
    met = list(zip((a for a, _ in rows), others, strict=True))
    counts = _count(met)
    if not counts.keys() <= here:  # a check-in undone leaves its connections behind
        met = [(a, [b for b in bs if b in here]) for a, bs in met if a in here]
        counts = _count(met)
    return met, counts


def _count(met: list[tuple[int, list[int]]]) -> Counter:
    counts = Counter(chain.from_iterable(bs for _, bs in met))
    for a, bs in met:
        counts[a] += len(bs)
    return counts


def _distribution(people, counts: Counter) -> list[tuple[int, int]]:
    return sorted(Counter(counts[row[0]] for row in people).items())


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


def _met_nobody(people, counts: Counter) -> list[Person]:
    nobody = [
        Person(uid, name, bool(first), 0) for uid, name, first, *_ in people if not counts[uid]
    ]
    return sorted(nobody, key=lambda p: (not p.first_timer, p.name.casefold(), p.user_id))


def _arrivals(meeting: Meeting, people) -> list[Bucket]:
    """Check-ins per 10 minutes from the start (the bucket arithmetic on datetimes differs
    between SQLite and PostgreSQL: done here, on the times already read)."""
    per: dict[int, int] = {}
    for *_, at in people:
        minute = (at - meeting.starts_at) // BUCKET * 10
        per[minute] = per.get(minute, 0) + 1
    if not per:
        return []
    first, last = min(per), max(per)
    return [Bucket(minute, per.get(minute, 0)) for minute in range(first, last + 10, 10)]


def meeting_report(meeting: Meeting) -> MeetingReport:
    """How ``meeting`` went: registrations, arrivals, connections and follow-ups (counts and
    the names of people present who met nobody; never notes or goals)."""
    registered_n, checked_in, no_shows, walk_ins, cancelled, waitlist = _registration_counts(
        meeting
    )
    people = _present(meeting, Registration.checked_in_at)
    met, counts = _connections(meeting, {row[0] for row in people})
    distribution = _distribution(people, counts)
    first_timers = sum(1 for row in people if row[2])
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
        arrivals=_arrivals(meeting, people),
        connections=sum(len(bs) for _, bs in met),
        connections_per_attendee_median=_median(distribution),
        distribution=distribution,
        met_nobody=_met_nobody(people, counts),
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
    people = _present(meeting)
    met, counts = _connections(meeting, {row[0] for row in people})
    return Network(
        people=[Person(uid, name, bool(first), counts[uid]) for uid, name, first in people],
        pairs=[pair for a, bs in met for pair in zip(repeat(a), bs)],
    )
