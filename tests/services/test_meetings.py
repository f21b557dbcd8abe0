from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from eventtrack.extensions import db
from eventtrack.models import Meeting, OutboxMessage
from eventtrack.services import meetings, registrations
from eventtrack.services.errors import DomainError, Invalid
from eventtrack.services.meetings import MeetingDetails


def details(**overrides):
    values = dict(
        title="Product Circle",
        starts_local=datetime(2027, 3, 9, 18, 30),  # 2nd Tuesday of March 2027
        ends_local=datetime(2027, 3, 9, 21, 0),
        timezone="Europe/Berlin",
        venue="Factory",
        capacity=30,
    )
    values.update(overrides)
    return MeetingDetails(**values)


def test_times_are_stored_in_utc_and_shown_in_the_meetings_zone(make):
    [m] = meetings.create_meetings(make.group(), details())
    db.session.expire_all()
    assert m.starts_at == datetime(2027, 3, 9, 17, 30, tzinfo=UTC)
    assert m.starts_at.tzinfo is not None
    assert m.local(m.starts_at).strftime("%H:%M %Z") == "18:30 CET"


def test_default_checkin_window_is_an_hour_before_until_the_end(make):
    [m] = meetings.create_meetings(make.group(), details())
    assert m.checkin_opens_at == m.starts_at - timedelta(hours=1)
    assert m.checkin_closes_at == m.ends_at


def test_monthly_series_keeps_the_nth_weekday_and_wall_clock_time(make):
    series = meetings.create_meetings(make.group(), details(), "monthly", 4)
    local = [m.local(m.starts_at) for m in series]
    assert [d.strftime("%Y-%m-%d %H:%M %a") for d in local] == [
        "2027-03-09 18:30 Tue",
        "2027-04-13 18:30 Tue",  # after the DST change, still 18:30 local
        "2027-05-11 18:30 Tue",
        "2027-06-08 18:30 Tue",
    ]
    assert len({m.series_id for m in series}) == 1 and series[0].series_id


def test_weekly_and_biweekly_series(make):
    weekly = meetings.create_meetings(make.group(), details(), "weekly", 3)
    biweekly = meetings.create_meetings(make.group(), details(), "biweekly", 2)
    assert weekly[1].starts_at - weekly[0].starts_at == timedelta(weeks=1)
    assert biweekly[1].starts_at - biweekly[0].starts_at == timedelta(weeks=2)


def test_fifth_weekday_repeats_as_last_weekday(make):
    first = datetime(2027, 3, 30, 19, 0)  # 5th Tuesday
    series = meetings.create_meetings(
        make.group(),
        details(starts_local=first, ends_local=first + timedelta(hours=2)),
        "monthly",
        2,
    )
    assert series[1].local(series[1].starts_at).day == 27  # last Tuesday of April 2027
    assert meetings.describe_recurrence("monthly", first) == "every last Tuesday of the month"


def test_editing_one_meeting_of_a_series_leaves_the_others(make):
    series = meetings.create_meetings(make.group(), details(), "weekly", 3)
    edited = meetings.details_of(series[1])
    edited.title, edited.venue = "Special edition", "Rooftop"
    meetings.update_meeting(series[1], edited, series[0].starts_at - timedelta(days=1))
    assert [m.title for m in series] == ["Product Circle", "Special edition", "Product Circle"]
    assert series[0].venue == "Factory"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"title": " "}, "title"),
        ({"ends_local": datetime(2027, 3, 9, 18, 0)}, "ends_local"),
        ({"capacity": 0}, "capacity"),
        ({"timezone": "Nowhere/City"}, "timezone"),
        ({"checkin_opens_minutes": -5}, "checkin_opens_minutes"),
    ],
)
def test_bad_details_are_refused_with_the_field_named(make, overrides, field):
    with pytest.raises(Invalid) as exc:
        meetings.create_meetings(make.group(), details(**overrides))
    assert exc.value.field == field


def test_series_length_is_bounded(make):
    with pytest.raises(Invalid) as exc:
        meetings.create_meetings(make.group(), details(), "weekly", 53)
    assert exc.value.field == "count"


def test_copy_of_last_meeting_moves_past_now(make):
    group = make.group()
    [m] = meetings.create_meetings(group, details())
    now = m.starts_at + timedelta(days=10)
    copy = meetings.copy_of_last(group, now)
    assert copy.title == "Product Circle" and copy.venue == "Factory"
    assert copy.starts_local.weekday() == 1 and copy.starts_local.strftime("%H:%M") == "18:30"
    assert meetings.to_utc(copy.starts_local, copy.timezone) > now


def test_cancelling_emails_everyone_registered_once(make, now):
    group = make.group()
    m = make.meeting(group, now=now)
    going = [make.member(group) for _ in range(3)]
    for user in going:
        registrations.register(m, user, now)
    db.session.execute(db.delete(OutboxMessage))
    assert meetings.cancel_meeting(m, now) == 3
    assert meetings.cancel_meeting(m, now) == 0
    kinds = db.session.scalars(select(OutboxMessage.kind)).all()
    assert kinds == ["meeting_cancelled"] * 3
    assert m.status == "cancelled"


def test_raising_capacity_moves_the_waitlist_up_in_order(make, now):
    group = make.group()
    m = make.meeting(group, capacity=1, now=now)
    regs = [registrations.register(m, make.member(group), now)[0] for _ in range(4)]
    assert [r.status for r in regs] == ["going", "waitlist", "waitlist", "waitlist"]
    more_room = meetings.details_of(m)
    more_room.capacity = 3

    promoted = meetings.update_meeting(m, more_room, now).promoted

    assert promoted == regs[1:3]
    assert [r.status for r in regs] == ["going", "going", "going", "waitlist"]
    subjects = db.session.scalars(select(OutboxMessage.subject)).all()
    assert sum(s.startswith("A place opened up") for s in subjects) == 2


# --- #13: the organiser's routine --------------------------------------------------------


def mail_of(kind):
    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
    )


def registered(make, m, now, statuses=("going", "waitlist", "cancelled")):
    people = []
    for status in statuses:
        person = make.member(m.group)
        make.registration(m, person, status=status)
        people.append(person)
    return people


def test_a_new_time_or_place_mails_everyone_registered_once_per_change(make, now):
    m = make.meeting(make.group(), now=now, venue="Factory", capacity=10)
    going, waiting, cancelled = registered(make, m, now)
    later = meetings.details_of(m)
    later.starts_local += timedelta(hours=1)
    later.ends_local += timedelta(hours=1)

    update = meetings.update_meeting(m, later, now)
    assert (update.told, update.changed) == (2, ("time",))
    moved = meetings.details_of(m)
    moved.venue = "Rooftop"
    update = meetings.update_meeting(m, moved, now + timedelta(seconds=1))
    assert (update.told, update.changed) == (2, ("place",))

    mail = mail_of("meeting_changed")
    assert len(mail) == 4
    assert {x.recipient for x in mail} == {going.email, waiting.email}
    assert "Rooftop" in mail[-1].body_text and "Factory" in mail[-1].body_text
    assert m.local(m.starts_at).strftime("%H:%M") in mail[0].body_text


def test_a_title_only_edit_mails_nobody(make, now):
    m = make.meeting(make.group(), now=now, capacity=10)
    registered(make, m, now)
    renamed = meetings.details_of(m)
    renamed.title = "New name"
    update = meetings.update_meeting(m, renamed, now)
    assert (update.told, update.changed) == (0, ())
    assert mail_of("meeting_changed") == []


def test_moving_a_meeting_into_the_past_is_refused_but_a_past_meeting_stays_editable(make, now):
    m = make.meeting(make.group(), now=now, starts_in=timedelta(days=-7))
    fixed = meetings.details_of(m)
    fixed.title, fixed.capacity = "Corrected title", 12
    meetings.update_meeting(m, fixed, now)  # same (past) start: allowed
    assert m.title == "Corrected title"
    earlier = meetings.details_of(m)
    earlier.starts_local -= timedelta(days=1)
    earlier.ends_local -= timedelta(days=1)
    with pytest.raises(Invalid, match="in the past") as exc:
        meetings.update_meeting(m, earlier, now)
    assert exc.value.field == "date"


def test_a_new_meeting_in_the_past_is_refused(make):
    now = datetime(2027, 3, 10, tzinfo=UTC)
    with pytest.raises(Invalid, match="in the past") as exc:
        meetings.create_meetings(make.group(), details(), now=now)
    assert exc.value.field == "date"
    assert meetings.create_meetings(make.group(), details(), now=now - timedelta(days=7))


def test_a_meeting_at_the_same_start_of_the_same_group_is_refused_unless_asked(make):
    group = make.group()
    meetings.create_meetings(group, details())
    with pytest.raises(Invalid, match="already has a meeting at that time") as exc:
        meetings.create_meetings(group, details(title="Copy"))
    assert exc.value.code == "duplicate_meeting" and exc.value.field == "date"
    with pytest.raises(Invalid):  # a series whose 3rd date is taken
        meetings.create_meetings(
            group, details(starts_local=datetime(2027, 2, 23, 18, 30)), "weekly", 3
        )
    assert meetings.create_meetings(make.group(), details())  # another group: fine
    assert meetings.create_meetings(group, details(title="On purpose"), duplicate_ok=True)


def test_end_must_follow_start(make):
    with pytest.raises(Invalid) as exc:
        meetings.create_meetings(make.group(), details(ends_local=datetime(2027, 3, 9, 18, 30)))
    assert exc.value.field == "ends_local"


def test_copy_lands_on_the_next_free_weekly_slot_after_the_last_meeting(make):
    group = make.group()
    series = meetings.create_meetings(group, details(), "weekly", 3)
    now = series[0].starts_at - timedelta(days=1)
    copy = meetings.copy_of_last(group, now)
    assert copy.starts_local == datetime(2027, 3, 30, 18, 30)  # the week after the 3rd
    meetings.create_meetings(group, copy)  # saved: the next copy moves on, no duplicate
    assert meetings.copy_of_last(group, now).starts_local == datetime(2027, 4, 6, 18, 30)


def test_copy_keeps_a_monthly_rhythm_and_skips_past_dates(make):
    group = make.group()
    meetings.create_meetings(group, details(), "monthly", 2)  # 2nd Tuesdays: 9 Mar, 13 Apr
    copy = meetings.copy_of_last(group, datetime(2027, 3, 1, tzinfo=UTC))
    assert copy.starts_local == datetime(2027, 5, 11, 18, 30)
    late = meetings.copy_of_last(group, datetime(2027, 6, 20, tzinfo=UTC))
    assert late.starts_local == datetime(2027, 7, 13, 18, 30)  # 2nd Tuesday of July
    assert late.ends_local - late.starts_local == timedelta(hours=2, minutes=30)


def test_cancel_then_uncancel_tells_the_registered_each_time(make, now):
    m = make.meeting(make.group(), now=now)
    registered(make, m, now)
    assert meetings.cancel_meeting(m, now) == 2
    assert meetings.uncancel_meeting(m, now) == 2
    assert m.status == "scheduled"
    assert meetings.uncancel_meeting(m, now) == 0  # already on
    assert meetings.cancel_meeting(m, now + timedelta(seconds=1)) == 2  # told again
    assert len(mail_of("meeting_cancelled")) == 4
    assert len(mail_of("meeting_uncancelled")) == 2


def test_a_meeting_whose_start_passed_cannot_be_uncancelled(make, now):
    m = make.meeting(make.group(), now=now, starts_in=timedelta(hours=-1), status="cancelled")
    with pytest.raises(DomainError) as exc:
        meetings.uncancel_meeting(m, now)
    assert exc.value.code == "meeting_over"
    assert m.status == "cancelled"


def test_delete_only_a_meeting_nobody_registered_for(make, now):
    group = make.group()
    empty = make.meeting(group, now=now)
    used = make.meeting(group, now=now, starts_in=timedelta(days=8))
    make.registration(used, status="cancelled")  # even a cancelled registration is history
    meetings.delete_meeting(empty)
    assert db.session.get(Meeting, empty.id) is None
    with pytest.raises(DomainError, match="cancel it instead") as exc:
        meetings.delete_meeting(used)
    assert exc.value.code == "meeting_has_registrations"
    assert db.session.get(Meeting, used.id) is not None


def test_no_reminder_is_stored_as_null(make):
    [m] = meetings.create_meetings(make.group(), details(reminder_minutes=None))
    db.session.expire_all()
    assert m.reminder_minutes is None
    with pytest.raises(Invalid):
        meetings.create_meetings(make.group(), details(reminder_minutes=8 * 24 * 60))


def test_cancel_is_decided_by_the_database_not_by_a_stale_object(make, now):
    m = make.meeting(make.group(), now=now)
    registered(make, m, now)
    table = Meeting.__table__  # another request cancelled it; this session has not seen it
    db.session.execute(table.update().where(table.c.id == m.id).values(status="cancelled"))
    assert m.status == "scheduled"
    assert meetings.cancel_meeting(m, now) == 0
    assert mail_of("meeting_cancelled") == []
    assert m.status == "cancelled"


def test_moving_a_cancelled_meeting_mails_nobody(make, now):
    m = make.meeting(make.group(), now=now, status="cancelled")
    registered(make, m, now)
    later = meetings.details_of(m)
    later.starts_local += timedelta(days=1)
    later.ends_local += timedelta(days=1)
    assert meetings.update_meeting(m, later, now).told == 0
    assert mail_of("meeting_changed") == []


def test_an_archived_group_takes_no_new_meeting(make, now):
    from eventtrack.services import groups

    group = make.group()
    groups.archive_group(group, now)

    with pytest.raises(DomainError) as refused:
        meetings.create_meetings(group, details())
    assert refused.value.code == "archived"
    assert db.session.scalar(select(Meeting).where(Meeting.group_id == group.id)) is None

    groups.unarchive_group(group)
    assert len(meetings.create_meetings(group, details())) == 1
