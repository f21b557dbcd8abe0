"""Meetings: one-off or a repeating series, each occurrence editable on its own.

``details`` (what an organiser types, its rules), ``changes`` (create, edit, cancel,
un-cancel, delete, and the mail they cause), ``slots`` (the series' next free slot) and
``lists`` (upcoming, past, counts). Callers use ``services.meetings.<name>``.
"""

from .changes import (
    MeetingUpdate,
    cancel_meeting,
    create_meetings,
    delete_meeting,
    registered_count,
    uncancel_meeting,
    update_meeting,
)
from .details import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_CAPACITY,
    MAX_OCCURRENCES,
    MAX_REMINDER_MINUTES,
    ORDINALS,
    RECURRENCES,
    REGISTERED,
    REMINDERS,
    MeetingDetails,
    describe_recurrence,
    details_of,
    nth_weekday,
    occurrences,
    to_utc,
)
from .lists import counts, members_meetings, past, upcoming
from .slots import copy_of_last, last_meeting, rhythm_of

__all__ = [
    "FIRST_YEAR",
    "LAST_YEAR",
    "MAX_CAPACITY",
    "MAX_OCCURRENCES",
    "MAX_REMINDER_MINUTES",
    "ORDINALS",
    "RECURRENCES",
    "REGISTERED",
    "REMINDERS",
    "MeetingDetails",
    "MeetingUpdate",
    "cancel_meeting",
    "copy_of_last",
    "counts",
    "create_meetings",
    "delete_meeting",
    "describe_recurrence",
    "details_of",
    "last_meeting",
    "members_meetings",
    "nth_weekday",
    "occurrences",
    "past",
    "registered_count",
    "rhythm_of",
    "to_utc",
    "uncancel_meeting",
    "upcoming",
    "update_meeting",
]
