from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from eventtrack.extensions import db
from eventtrack.models import OutboxMessage
from eventtrack.services import meetings, registrations
from eventtrack.services.errors import Invalid
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
