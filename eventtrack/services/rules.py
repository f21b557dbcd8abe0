"""The domain's predicates, each said once as a SQL expression that every path uses: the ORM
queries, the reports and the door's driver-level statement (compiled from these same
expressions, ``services.checkin.fast``).

- **present**: checked in at the meeting (``checked_in_at`` is set), whatever the RSVP said.
- **registered**: holds a place (going) and did not come as a walk-in (walk-ins came without
  one): the door's counts and the reports.
- **first time**: the meeting is the first meeting of its group the person attended — nobody
  is a first-timer at a meeting when they attended an earlier one (by start time) of the group.
- **organiser of**: the person holds the organiser role in the group.
- **may check in now**: the meeting is scheduled and ``now`` is inside its check-in window.
"""

from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, or_
from sqlalchemy.orm import aliased

from ..models import Meeting, Membership, Registration
from ..models.vocabularies import CheckinHow, MeetingStatus, RegistrationStatus, Role


def present(registration=Registration) -> ColumnElement[bool]:
    """``registration`` (the entity or an alias of it) is checked in."""
    return registration.checked_in_at.is_not(None)


def walked_in(registration=Registration) -> ColumnElement[bool]:
    """``registration`` was made at the door for someone who came without one."""
    return registration.checkin_how == CheckinHow.WALK_IN


def registered(registration=Registration) -> ColumnElement[bool]:
    """``registration`` holds a place (going) and was not made at the door as a walk-in."""
    return and_(
        registration.status == RegistrationStatus.GOING,
        or_(registration.checkin_how.is_(None), ~walked_in(registration)),
    )


# Built once: constructing aliases per call costs more than the queries they serve.
_Earlier = aliased(Registration, name="earlier")
_EarlierMeeting = aliased(Meeting, name="earlier_meeting")
_ThisMeeting = aliased(Meeting, name="this_meeting")


def attended_earlier(user_id, meeting_id) -> ColumnElement[bool]:
    """``user_id`` was present at a meeting of ``meeting_id``'s group that started before it.

    Both arguments may be columns (correlated, e.g. ``Registration.user_id``) or values."""
    return exists().where(
        _Earlier.user_id == user_id,
        present(_Earlier),
        _EarlierMeeting.id == _Earlier.meeting_id,
        _ThisMeeting.id == meeting_id,
        _EarlierMeeting.group_id == _ThisMeeting.group_id,
        _EarlierMeeting.starts_at < _ThisMeeting.starts_at,
    )


def first_time(user_id, meeting_id) -> ColumnElement[bool]:
    """``meeting_id`` is the first meeting of its group that ``user_id`` attends."""
    return ~attended_earlier(user_id, meeting_id)


def first_timer(registration=Registration) -> ColumnElement[bool]:
    """``registration`` is present, at its holder's first meeting of the group."""
    return and_(present(registration), first_time(registration.user_id, registration.meeting_id))


def organiser_of(user_id, group_id) -> ColumnElement[bool]:
    """``user_id`` organises the group ``group_id`` (values, bind parameters or columns)."""
    return exists().where(
        Membership.group_id == group_id,
        Membership.user_id == user_id,
        Membership.role == Role.ORGANISER,
    )


def organiser_membership(membership=Membership) -> ColumnElement[bool]:
    """``membership`` (the entity or an alias of it) holds the organiser role."""
    return membership.role == Role.ORGANISER


def may_check_in_now(now, meeting=Meeting) -> ColumnElement[bool]:
    """``meeting`` is scheduled and ``now`` is inside its check-in window."""
    return and_(
        meeting.status == MeetingStatus.SCHEDULED,
        meeting.checkin_opens_at <= now,
        meeting.checkin_closes_at >= now,
    )


def check_in_open(meeting: Meeting, now: datetime) -> bool:
    """``may_check_in_now`` for a meeting already loaded (the same rule, in Python)."""
    return (
        meeting.status == MeetingStatus.SCHEDULED
        and meeting.checkin_opens_at <= now <= meeting.checkin_closes_at
    )
