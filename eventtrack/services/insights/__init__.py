"""Insights: how a meeting went, how a group's series goes, and a member's own record.

One service feeds the organiser's report pages, the member's record page and the API
(``GET /api/v1/meetings/{id}/report``, ``GET /api/v1/groups/{id}/report``). Every figure uses
the domain's predicates from ``services.rules`` (present, first time) — the door's definitions.
Each report runs a constant number of statements whatever the number of attendees.

Organisers see names and counts, never notes, goals' text or follow-up states of a member;
a member's record is for that member only.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import case, func


@dataclass(frozen=True)
class Person:
    """Someone present at a meeting, as a dot in the picture and a name in a list."""

    user_id: int
    name: str
    first_timer: bool  # at this meeting: the first meeting of the group they attended
    connections: int  # people they met at this meeting


@dataclass(frozen=True)
class Bucket:
    """Check-ins in the 10 minutes from ``minute`` (minutes after the start; may be negative)."""

    minute: int
    count: int


@dataclass
class MeetingReport:
    meeting_id: int
    # Registrations (walk-ins are not "registered": they came without one).
    registered: int  # status going, not a walk-in
    checked_in: int  # present, walk-ins included
    no_shows: int  # registered and not present
    walk_ins: int  # present, checked in as walk_in
    cancelled: int
    waitlist: int
    first_timers: int  # present, first meeting of the group attended
    returning: int  # present, attended an earlier meeting of the group
    arrivals: list[Bucket]  # check-ins per 10 minutes from the start, gaps filled with 0
    # Who met whom.
    connections: int
    connections_per_attendee_median: float  # over everyone present (0 for nobody present)
    distribution: list[tuple[int, int]]  # (connections, attendees with that many), ascending
    met_nobody: list[Person]  # present and met nobody: first-timers first, then by name
    # After the meeting.
    followups_sent: int  # follow-up emails sent
    followups_failed: int
    followups_pending: int  # queued, not sent yet (pending or sending)
    followups_done: int  # follow-ups marked done by attendees
    goals_set: int
    goals_done: int  # goals set at this meeting and reported done (at the next meeting)


@dataclass
class Network:
    """Who met whom at one meeting: everyone present and every connection between them."""

    people: list[Person]  # ordered by user_id
    pairs: list[tuple[int, int]]  # (user_a_id, user_b_id), a < b


@dataclass(frozen=True)
class MeetingPoint:
    meeting_id: int
    title: str
    starts_at: datetime
    registered: int
    checked_in: int
    first_timers: int
    ends_at: datetime | None = None  # a meeting still running is not "missed" by anyone yet


@dataclass(frozen=True)
class Drifter:
    """Came to 3 or more meetings of the group, then missed the last 3 held."""

    user_id: int
    name: str
    attended: int
    last_attended: datetime  # the start of the last meeting they were present at


@dataclass
class GroupReport:
    group_id: int
    meetings: list[MeetingPoint]  # held (not cancelled) meetings that have started, oldest first
    drifting: list[Drifter]  # longest absent first
    first_timers: int  # people whose first attended meeting of the group is in the series
    returning_first_timers: int  # of those, how many attended a later meeting
    pairs_met: int  # distinct pairs of people who have met at any meeting of the group
    # At the latest meeting held: share of those present who met someone they had not met
    # at an earlier meeting of the group (None when no meeting was held yet).
    met_someone_new_last_time: float | None


@dataclass(frozen=True)
class MetPerson:
    user_id: int
    name: str
    met_again: bool  # met again at a later meeting


@dataclass
class AttendedMeeting:
    meeting_id: int
    title: str
    group_name: str
    starts_at: datetime
    met: list[MetPerson]
    followups_done: int  # of the promised ones, marked done
    followups_promised: int  # follow-ups with a promise
    goal: str | None  # the member's own goal set at this meeting
    goal_outcome: str | None  # done | not_yet | dropped, when reported


@dataclass
class MemberRecord:
    """A member's own record across every group: private to that member."""

    user_id: int
    meetings: list[AttendedMeeting] = field(default_factory=list)  # newest first
    people_met: int = 0  # distinct people met
    people_met_again: int = 0  # of those, met again at a later meeting
    followups_done: int = 0
    followups_promised: int = 0
    goals_set: int = 0
    goals_done: int = 0
    since: date | None = None  # first meeting attended


# The services, after the shapes they return (their modules import these from here).
def count_where(condition):
    """SQL: how many rows of the group (or the whole result) meet ``condition``; 0 for none."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


from .group import group_report  # noqa: E402
from .meeting import meeting_network, meeting_report  # noqa: E402
from .member import member_record  # noqa: E402

__all__ = [
    "AttendedMeeting",
    "Bucket",
    "Drifter",
    "GroupReport",
    "MeetingPoint",
    "MeetingReport",
    "MemberRecord",
    "MetPerson",
    "Network",
    "Person",
    "group_report",
    "meeting_network",
    "meeting_report",
    "member_record",
]
