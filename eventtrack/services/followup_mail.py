"""Follow-up emails after a meeting, and the weekly reminder before the next one.

Both go through the outbox, keyed so that queuing twice (or from two workers) queues nothing
new; both go only to members who keep follow-up emails on. Each is queued in the caller's
transaction (``outbox.queue_mail``), with the change that marks the meeting's follow-ups queued.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from ..extensions import db
from ..links import external_url
from ..models import Meeting, Registration, User
from ..models.vocabularies import MeetingStatus
from . import outbox
from .connections import here
from .errors import DomainError
from .followups import (
    FollowUpList,
    build_lists,
    followups_due_at,
    local_today,
    met_notes,
    person_of,
    states_of,
    users_by_id,
)
from .vcard import vcard

REMINDER_EVERY = timedelta(days=7)


def wanting_followups(meeting_id: int) -> dict[int, str]:
    """The members checked in at the meeting who keep follow-up emails on: their ids, each
    with the pass token that their mail's link carries."""
    return dict(
        db.session.execute(
            select(Registration.user_id, Registration.pass_token)
            .join(User, User.id == Registration.user_id)
            .where(
                Registration.meeting_id == meeting_id,
                here(),
                User.followup_emails.is_(True),
            )
            .order_by(Registration.user_id)
        ).all()
    )


def list_url(pass_token: str) -> str:
    """The follow-up list's link in a member's mail: through their pass, which only their inbox
    has, so it opens without a sign-in and stops working when the pass does."""
    return external_url("attendee.pass_followups", token=pass_token)


def queue_followups(meeting: Meeting, now: datetime, *, ignore_delay: bool = False) -> int:
    """Queue one follow-up email per checked-in attendee who wants them; return how many.

    Idempotent: the outbox dedup key ``followup:<meeting>:<user>`` queues each at most once,
    so a second call (or a second worker) queues nothing new. ``ignore_delay`` is the
    organiser's "send now": it skips the delay but not the end of the meeting.
    """
    if meeting.status != MeetingStatus.SCHEDULED:
        raise DomainError("cancelled", "This meeting was cancelled: no follow-ups.")
    if now < meeting.ends_at:
        raise DomainError("not_over", "Follow-ups can be sent once the meeting has ended.")
    if not ignore_delay and now < followups_due_at(meeting):
        raise DomainError("too_early", "The follow-up delay has not passed yet.")
    recipients = wanting_followups(meeting.id)
    queued = 0
    if recipients:
        for lst in build_lists(meeting, list(recipients)).values():
            queued += _enqueue_followup(lst, list_url(recipients[lst.user.id]), now)
    db.session.execute(
        update(Meeting)
        .where(Meeting.id == meeting.id, Meeting.followups_queued_at.is_(None))
        .values(followups_queued_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(meeting)
    return queued


def _enqueue_followup(lst: FollowUpList, url: str, now: datetime) -> bool:
    user, meeting = lst.user, lst.meeting
    card = vcard(lst.shared, meeting)
    attachments = []
    if card:
        attachments.append(
            {"filename": "contacts.vcf", "content_type": "text/vcard", "content": card}
        )
    return outbox.queue_to_member(
        "followup",
        user,
        meeting,
        {"lst": lst, "meeting": meeting, "list_url": url, "has_vcard": bool(card)},
        dedup_key=f"followup:{meeting.id}:{user.id}",
        subject=f"Your follow-ups from {meeting.title}",
        attachments=attachments,
        now=now,
    )


def due_meetings(now: datetime) -> list[Meeting]:
    """Ended meetings whose follow-ups were never queued and whose delay has passed."""
    ended = db.session.scalars(
        select(Meeting)
        .where(
            Meeting.status == MeetingStatus.SCHEDULED,
            Meeting.followups_queued_at.is_(None),
            Meeting.ends_at <= now,
        )
        .order_by(Meeting.ends_at)
    )
    return [m for m in ended if followups_due_at(m) <= now]


# --- reminders before the next meeting -------------------------------------------------------


def queue_reminders(now: datetime) -> int:
    """Weekly-ish: "N follow-ups still open; the group meets again on …" (opt-in).

    For each group with a next meeting ahead, the members who attended its last meeting and
    still have open follow-ups get one reminder per full week since the follow-ups went out.
    The dedup key carries the week number, so repeated runs in a week queue nothing new.
    """
    upcoming = (
        select(Meeting.group_id, func.min(Meeting.starts_at).label("next_start"))
        .where(Meeting.status == MeetingStatus.SCHEDULED, Meeting.starts_at > now)
        .group_by(Meeting.group_id)
        .subquery()
    )
    queued = 0
    for group_id, next_start in db.session.execute(select(upcoming)):
        last = db.session.scalar(
            select(Meeting)
            .where(
                Meeting.group_id == group_id,
                Meeting.status == MeetingStatus.SCHEDULED,
                Meeting.ends_at <= now,
            )
            .order_by(Meeting.ends_at.desc())
            .limit(1)
        )
        if last is None or last.followups_queued_at is None:
            continue
        week = (now - last.followups_queued_at) // REMINDER_EVERY
        if week < 1:
            continue
        next_meeting = db.session.scalar(
            select(Meeting).where(
                Meeting.group_id == group_id,
                Meeting.status == MeetingStatus.SCHEDULED,
                Meeting.starts_at == next_start,
            )
        )
        queued += _queue_reminders_for(last, next_meeting, week, now)
    return queued


def _queue_reminders_for(last: Meeting, next_meeting: Meeting, week: int, now: datetime) -> int:
    recipients = wanting_followups(last.id)
    met = met_notes(last.id, None)
    states = states_of(last.id, None)
    people = users_by_id({o for uid in recipients for o, _ in met.get(uid, [])} | set(recipients))
    today = local_today(last, now)
    queued = 0
    for uid, pass_token in recipients.items():
        open_people = [
            p
            for p in (
                person_of(people[o], note, states.get((uid, o))) for o, note in met.get(uid, [])
            )
            if p.is_open(today)
        ]
        if not open_people:
            continue
        n = len(open_people)
        queued += outbox.queue_to_member(
            "reminder",
            people[uid],
            last,
            {
                "meeting": last,
                "next_meeting": next_meeting,
                "open_people": sorted(open_people, key=lambda p: p.name.lower()),
                "list_url": list_url(pass_token),
            },
            dedup_key=f"reminder:{last.id}:{uid}:w{week}",
            subject=f"{n} follow-up{'s' if n != 1 else ''} still open before {next_meeting.title}",
            now=now,
        )
    return queued
