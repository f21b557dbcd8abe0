"""Reminder emails before a meeting: when they are due, to whom, once."""

from datetime import timedelta

from sqlalchemy import null, select

from eventtrack.extensions import db
from eventtrack.models import OutboxMessage
from eventtrack.services import meetings, reminders
from eventtrack.transaction import atomic


def reminder_mail():
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "meeting_reminder")
            .order_by(OutboxMessage.id)
        )
    )


def planned(make, now, **kwargs):
    """A meeting three days ahead with Ann and Bob going (registered a week ago), Cy on the
    waitlist and Di cancelled."""
    group = make.group()
    kwargs.setdefault("capacity", 2)
    kwargs.setdefault("starts_in", timedelta(days=3))
    meeting = make.meeting(group, now=now, **kwargs)
    early = now - timedelta(days=7)
    people = {}
    for name, status in (
        ("Ann", "going"),
        ("Bob", "going"),
        ("Cy", "waitlist"),
        ("Di", "cancelled"),
    ):
        people[name] = make.member(group, name=name)
        make.registration(meeting, people[name], status=status, created_at=early)
    return meeting, people


def test_one_reminder_per_going_registration_at_the_set_time(make, now):
    meeting, people = planned(make, now)
    assert meeting.reminder_minutes == 24 * 60  # the default
    day_before = meeting.starts_at - timedelta(hours=24)

    assert reminders.queue_due(day_before - timedelta(minutes=1)) == 0
    assert reminders.queue_due(day_before) == 2
    assert reminders.queue_due(day_before + timedelta(hours=1)) == 0

    mail = reminder_mail()
    assert sorted(m.recipient for m in mail) == sorted([people["Ann"].email, people["Bob"].email])
    assert meeting.reminders_queued_at == day_before
    assert len({m.dedup_key for m in mail}) == 2


def test_reminder_carries_pass_calendar_unsubscribe_and_the_local_time(make, now):
    meeting, people = planned(make, now, timezone="America/New_York")
    reminders.queue_due(meeting.starts_at - timedelta(hours=2))
    mail = next(m for m in reminder_mail() if m.user_id == people["Ann"].id)
    reg = next(r for r in meeting.registrations if r.user_id == people["Ann"].id)
    local = meeting.local(meeting.starts_at)
    for body in (mail.body_text, mail.body_html):
        assert f"/p/{reg.pass_token}" in body
        assert ".ics" in body
        assert local.strftime("%H:%M") in body and "America/New_York" in body
        assert "/unsubscribe/" in body
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.headers["List-Unsubscribe"].startswith("<http")


def test_two_hours_before_is_not_due_three_hours_before(make, now):
    meeting, _ = planned(make, now, reminder_minutes=120)
    assert reminders.queue_due(meeting.starts_at - timedelta(hours=3)) == 0
    assert reminders.queue_due(meeting.starts_at - timedelta(minutes=90)) == 2


def test_no_reminder_when_off_cancelled_or_started(make, now):
    off, _ = planned(make, now, reminder_minutes=null())  # None would take the default
    cancelled, _ = planned(make, now, status="cancelled")
    assert reminders.queue_due(off.starts_at - timedelta(hours=1)) == 0
    assert cancelled.reminders_queued_at is None
    started, _ = planned(make, now, starts_in=timedelta(hours=-1))
    assert reminders.queue_due(started.starts_at + timedelta(minutes=1)) == 0
    assert reminder_mail() == []


def test_unsubscribed_and_late_registrations_get_none(make, now):
    meeting, people = planned(make, now)
    people["Ann"].followup_emails = False  # pressed the one-click unsubscribe
    late = make.member(meeting.group, name="Late")
    make.registration(meeting, late, created_at=meeting.starts_at - timedelta(hours=3))
    db.session.commit()
    assert reminders.queue_due(meeting.starts_at - timedelta(hours=2)) == 1
    assert [m.recipient for m in reminder_mail()] == [people["Bob"].email]


def test_a_meeting_moved_later_is_reminded_again_for_its_new_time(make, now):
    meeting, _ = planned(make, now)
    assert reminders.queue_due(meeting.starts_at - timedelta(hours=2)) == 2
    moved = meetings.details_of(meeting)
    moved.starts_local += timedelta(days=7)
    moved.ends_local += timedelta(days=7)
    with atomic():
        meetings.update_meeting(meeting, moved, now)
    assert meeting.reminders_queued_at is None
    assert reminders.queue_due(meeting.starts_at - timedelta(hours=2)) == 2
    assert len(reminder_mail()) == 4


def test_flask_reminders_command_queues_what_is_due(make, now, runner):
    meeting, _ = planned(make, now, reminder_minutes=4 * 24 * 60)  # due already
    result = runner.invoke(args=["reminders"])
    assert result.exit_code == 0, result.output
    assert "reminders queued 2" in result.output
    assert len(reminder_mail()) == 2
    assert runner.invoke(args=["reminders"]).output.strip() == "reminders queued 0"
