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
- **connections**: the connections recorded at the meeting. **Per attendee**: over everyone
  present, people who met nobody counted as 0; the median as a float (0.0 when nobody came) and
  the distribution as ``(connections, attendees)`` pairs, ascending.
- **met nobody**: present, no connection at the meeting; first-timers first, then by name.
- **follow-ups**: the follow-up emails by outbox status, follow-ups marked done, goals set and
  reported done — ``followups.counts``, the same counts as the follow-ups page.

Names: everyone listed is present at one of the group's meetings, so has taken part
(``members.engaged``): organisers see the account's own name. Never notes, never goal text.

Statements: ``meeting_report`` runs five, ``meeting_network`` two, whatever the size; per-attendee
figures are aggregated by the database (GROUP BY), and the network reads integer columns only
but for one name per person.
"""

import statistics
from datetime import timedelta

from sqlalchemy import case, func, select, union_all

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


def _present_at(meeting_id: int):
    return (Registration.meeting_id == meeting_id, rules.present())


def _registration_counts(meeting: Meeting):
    """One row: the registration figures, and the connections recorded."""
    return db.session.execute(
        select(
            _sum(registered()),
            _sum(rules.present()),
            _sum(registered() & ~rules.present()),
            _sum(rules.present() & _walk_in()),
            _sum(Registration.status == RegistrationStatus.CANCELLED),
            _sum(Registration.status == RegistrationStatus.WAITLIST),
            _sum(rules.first_timer()),
            select(func.count()).where(Connection.meeting_id == meeting.id).scalar_subquery(),
        ).where(Registration.meeting_id == meeting.id)
    ).one()


def _connections_per_person(meeting_id: int):
    """Subquery (user_id, n): connections per person with at least one at the meeting."""
    ends = union_all(
        select(Connection.user_a_id.label("user_id")).where(Connection.meeting_id == meeting_id),
        select(Connection.user_b_id.label("user_id")).where(Connection.meeting_id == meeting_id),
    ).subquery()
    return select(ends.c.user_id, func.count().label("n")).group_by(ends.c.user_id).subquery("per")


def _distribution(meeting: Meeting) -> list[tuple[int, int]]:
    per = _connections_per_person(meeting.id)
    n = func.coalesce(per.c.n, 0)
    rows = db.session.execute(
        select(n, func.count())
        .select_from(Registration)
        .outerjoin(per, per.c.user_id == Registration.user_id)
        .where(*_present_at(meeting.id))
        .group_by(n)
        .order_by(n)
    )
    return [(int(k), int(v)) for k, v in rows]


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


def _met_nobody(meeting: Meeting) -> list[Person]:
    first_timer = rules.first_timer()
    met = select(Connection.id).where(Connection.meeting_id == meeting.id)
    rows = db.session.execute(
        select(Registration.user_id, User.name, first_timer)
        .join(User, User.id == Registration.user_id)
        .where(
            *_present_at(meeting.id),
            ~met.where(Connection.user_a_id == Registration.user_id).exists(),
            ~met.where(Connection.user_b_id == Registration.user_id).exists(),
        )
        .order_by(case((first_timer, 0), else_=1), func.lower(User.name), User.id)
    )
    return [Person(uid, name, bool(first), 0) for uid, name, first in rows]


def _arrivals(meeting: Meeting) -> list[Bucket]:
    """Check-ins per 10 minutes from the start, computed here from one column: the bucket
    arithmetic on datetimes differs between SQLite and PostgreSQL, reading 5,000 values
    takes a few milliseconds."""
    times = db.session.scalars(
        select(Registration.checked_in_at).where(*_present_at(meeting.id))
    ).all()
    if not times:
        return []
    per: dict[int, int] = {}
    for at in times:
        minute = (at - meeting.starts_at) // BUCKET * 10
        per[minute] = per.get(minute, 0) + 1
    first, last = min(per), max(per)
    return [Bucket(minute, per.get(minute, 0)) for minute in range(first, last + 10, 10)]


def meeting_report(meeting: Meeting) -> MeetingReport:
    """How ``meeting`` went: registrations, arrivals, connections and follow-ups (counts and
    the names of people present who met nobody; never notes or goals)."""
    (
        registered_n,
        checked_in,
        no_shows,
        walk_ins,
        cancelled,
        waitlist,
        first_timers,
        connections,
    ) = _registration_counts(meeting)
    distribution = _distribution(meeting)
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
        arrivals=_arrivals(meeting),
        connections=connections,
        connections_per_attendee_median=_median(distribution),
        distribution=distribution,
        met_nobody=_met_nobody(meeting),
        followups_sent=followups.emails[MailStatus.SENT],
        followups_failed=followups.emails[MailStatus.FAILED],
        followups_pending=followups.emails[MailStatus.PENDING]
        + followups.emails[MailStatus.SENDING],
        followups_done=followups.followups_done,
        goals_set=followups.goals_set,
        goals_done=followups.goals_answered[GoalOutcome.DONE],
    )


def meeting_network(meeting: Meeting) -> Network:
    """Everyone present at ``meeting`` (by user id) and every connection between two of them.

    Two statements: the people (id, name, first-timer) and the pairs (two integer columns);
    each person's count is made here from the pairs, so the dots and the lines agree.
    """
    people = db.session.execute(
        select(Registration.user_id, User.name, rules.first_timer())
        .join(User, User.id == Registration.user_id)
        .where(*_present_at(meeting.id))
        .order_by(Registration.user_id)
    ).all()
    pairs = db.session.execute(
        select(Connection.user_a_id, Connection.user_b_id)
        .where(Connection.meeting_id == meeting.id)
        .order_by(Connection.user_a_id, Connection.user_b_id)
    ).all()
    here = {row[0] for row in people}
    kept = [(a, b) for a, b in pairs if a in here and b in here]
    met: dict[int, int] = dict.fromkeys(here, 0)
    for a, b in kept:
        met[a] += 1
        met[b] += 1
    return Network(
        people=[Person(uid, name, bool(first), met[uid]) for uid, name, first in people],
        pairs=kept,
    )
