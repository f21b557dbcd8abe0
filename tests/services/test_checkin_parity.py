"""The door's one-statement check-in (compiled from ``services.rules``) and the full ORM path
give the same answer and leave the same rows, for every status a pass scan can have."""

from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from eventtrack.extensions import db
from eventtrack.models import Registration
from eventtrack.models.checkin import CheckinEvent
from eventtrack.services import checkin
from eventtrack.services.checkin import door as door_path


def _fresh_going(ctx):
    return ctx["reg"]


def _returning_member(ctx):
    make, now, group, user = ctx["make"], ctx["now"], ctx["group"], ctx["reg"].user
    earlier = make.meeting(group, starts_in=timedelta(days=-30), now=now)
    make.registration(earlier, user, checked_in_at=earlier.starts_at)
    return ctx["reg"]


def _came_only_later(ctx):
    # Attended a later meeting of the group (checked in there by hand): this one, earlier,
    # is still their first.
    make, now, group, user = ctx["make"], ctx["now"], ctx["group"], ctx["reg"].user
    later = make.meeting(group, starts_in=timedelta(days=1), now=now)
    make.registration(later, user, checked_in_at=now)
    return ctx["reg"]


def _already_in(ctx):
    ctx["reg"].checked_in_at = ctx["now"] - timedelta(minutes=5)
    db.session.commit()
    return ctx["reg"]


def _cancelled(ctx):
    ctx["reg"].status = "cancelled"
    db.session.commit()
    return ctx["reg"]


def _waitlisted(ctx):
    ctx["reg"].status = "waitlist"
    db.session.commit()
    return ctx["reg"]


def _meeting_cancelled(ctx):
    ctx["meeting"].status = "cancelled"
    db.session.commit()
    return ctx["reg"]


def _window_closed(ctx):
    ctx["meeting"].checkin_opens_at = ctx["now"] + timedelta(minutes=30)
    db.session.commit()
    return ctx["reg"]


def _window_over(ctx):
    ctx["meeting"].checkin_closes_at = ctx["now"] - timedelta(minutes=1)
    db.session.commit()
    return ctx["reg"]


def _other_meeting(ctx):
    other = ctx["make"].meeting(ctx["group"], starts_in=timedelta(minutes=20), now=ctx["now"])
    return ctx["make"].registration(other)


def _other_organisers_meeting(ctx):
    stranger_meeting = ctx["make"].meeting(
        ctx["make"].group(), starts_in=timedelta(minutes=10), now=ctx["now"]
    )
    return ctx["make"].registration(stranger_meeting)


SCENARIOS = {
    "checked_in, first time": (_fresh_going, "checked_in"),
    "checked_in, returning": (_returning_member, "checked_in"),
    "checked_in, came only to a later one": (_came_only_later, "checked_in"),
    "already_checked_in": (_already_in, "already_checked_in"),
    "cancelled registration": (_cancelled, "cancelled"),
    "waitlist": (_waitlisted, "not_open"),
    "cancelled meeting": (_meeting_cancelled, "cancelled"),
    "not open yet": (_window_closed, "not_open"),
    "closed": (_window_over, "not_open"),
    "not this meeting": (_other_meeting, "not_this_meeting"),
    "another organiser's pass": (_other_organisers_meeting, "invalid"),
}


def _state(reg_id):
    db.session.expire_all()
    reg = db.session.get(Registration, reg_id)
    events = db.session.execute(
        select(CheckinEvent.status, CheckinEvent.how, CheckinEvent.actor_id, CheckinEvent.at)
    ).all()
    return (reg.status, reg.checked_in_at, reg.checked_in_by_id, reg.checkin_how), events


def _answer(result):
    return (
        result.status,
        result.message,
        result.name,
        result.registration_id,
        result.checked_in_at,
        result.first_time,
    )


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("at_meeting", [True, False], ids=["at the meeting", "any meeting"])
def test_fast_and_full_paths_agree(make, now, monkeypatch, scenario, at_meeting):
    arrange, expected = SCENARIOS[scenario]
    organiser = make.organiser()
    group = make.group(organiser)
    meeting = make.meeting(group, starts_in=timedelta(minutes=15), now=now)
    reg = make.registration(meeting, make.member(group, name="Ana Ruiz"))
    ctx = dict(make=make, now=now, group=group, meeting=meeting, reg=reg)
    scanned = arrange(ctx)
    before = {
        c.name: getattr(scanned, c.key) for c in Registration.__table__.columns if c.key != "id"
    }
    meeting_id = meeting.id if at_meeting else None
    if expected == "not_this_meeting" and not at_meeting:
        expected = "checked_in"  # without a meeting, the pass's own meeting is meant
    if scenario == "another organiser's pass" and at_meeting:
        expected = "not_this_meeting"  # and nothing of whose it is (test_checkin.py)

    full_path = []
    real_by_token = door_path.by_token
    monkeypatch.setattr(
        door_path, "by_token", lambda token: full_path.append(token) or real_by_token(token)
    )
    answers, states = [], []
    for fast in (True, False):
        full_path.clear()
        result = checkin.check_in(meeting_id, scanned.pass_token, organiser.id, now, fast=fast)
        answers.append(_answer(result))
        states.append(_state(scanned.id))
        # Taken by the one statement exactly when it checks someone in.
        assert bool(full_path) == (not fast or result.status != "checked_in")
        # Back to how it was, for the other path.
        db.session.execute(delete(CheckinEvent))
        db.session.execute(
            Registration.__table__.update().where(Registration.id == scanned.id).values(**before)
        )
        db.session.commit()

    assert answers[0] == answers[1]
    assert states[0] == states[1]
    assert answers[0][0] == expected
    if scenario.startswith("checked_in"):
        assert answers[0][5] == (scenario != "checked_in, returning")
