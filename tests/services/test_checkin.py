"""The check-in service, without HTTP: every way in, every status, and real concurrency."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from eventtrack.extensions import db
from eventtrack.models import Membership, OutboxMessage, Registration, User
from eventtrack.models.checkin import CheckinEvent
from eventtrack.services import attendance, checkin, members, registrations
from eventtrack.services.errors import Invalid, NotFound
from eventtrack.transaction import atomic
from tests.factories import forged


@pytest.fixture
def door(make, now):
    """An organiser, their group and a meeting whose check-in is open now."""
    organiser = make.organiser()
    group = make.group(organiser)
    meeting = make.meeting(group, starts_in=timedelta(minutes=15), now=now)

    class Door:
        pass

    d = Door()
    d.organiser, d.group, d.meeting = organiser, group, meeting
    return d


def events(**where) -> list[CheckinEvent]:
    stmt = select(CheckinEvent).order_by(CheckinEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(CheckinEvent, key) == value)
    return list(db.session.scalars(stmt))


def undo(reg, actor, now):
    """An organiser's undo, committed as the page commits it."""
    with atomic():
        return checkin.undo(reg, actor, now)


def fresh(reg: Registration) -> Registration:
    db.session.expire_all()
    return db.session.get(Registration, reg.id)


@pytest.mark.parametrize("at_meeting", [True, False])
def test_a_fresh_scan_takes_the_single_statement_path(door, make, now, monkeypatch, at_meeting):
    reg = make.registration(door.meeting)
    slow = []
    monkeypatch.setattr(checkin.door, "by_token", lambda token: slow.append(token))

    meeting_id = door.meeting.id if at_meeting else None
    result = checkin.check_in(meeting_id, reg.pass_token, door.organiser.id, now)

    assert result.status == "checked_in" and slow == []


def test_the_single_statement_path_answers_as_the_orm_path(door, make, now):
    # The same person checked in at two meetings of the group, by the fast path (a scan) and
    # the ORM path (an organiser's manual check-in): the answers must not tell them apart.
    ana = make.member(door.group, name="Ana Ruiz")
    second = make.meeting(door.group, starts_in=timedelta(minutes=20), now=now)
    first_reg, second_reg = make.registration(door.meeting, ana), make.registration(second, ana)
    manual = checkin.check_in_registration(first_reg, door.organiser, now)
    scan = checkin.check_in(second.id, second_reg.pass_token, door.organiser.id, now)

    def answer(result):
        return (result.status, result.message, result.name, result.checked_in_at, result.replayed)

    assert answer(scan) == answer(manual)
    assert (manual.first_time, scan.first_time) == (True, False)  # attended the first one
    db.session.expire_all()
    assert {(e.status, e.at, e.actor_id) for e in events()} == {
        ("checked_in", now, door.organiser.id)
    }


def test_a_plain_member_cannot_check_anyone_in(door, make, now):
    member = make.member(door.group)
    reg = make.registration(door.meeting)

    with pytest.raises(NotFound):
        checkin.check_in(door.meeting.id, reg.pass_token, member.id, now)
    assert checkin.check_in(None, reg.pass_token, member.id, now).status == "invalid"
    assert fresh(reg).checked_in_at is None


def test_scan_checks_the_pass_holder_in(door, make, now):
    ana = make.member(door.group, name="Ana Ruiz")
    reg = make.registration(door.meeting, ana)

    result = checkin.check_in(door.meeting.id, reg.pass_token, door.organiser.id, now)

    assert (result.status, result.http_status) == ("checked_in", 201)
    assert result.message == "Checked in: Ana Ruiz"
    assert (result.registration_id, result.name) == (reg.id, "Ana Ruiz")
    reg = fresh(reg)
    assert reg.checked_in_at == now
    assert reg.checkin_how == "pass_scan"
    assert reg.checked_in_by_id == door.organiser.id
    [event] = events()
    assert (event.status, event.action, event.actor_id) == (
        "checked_in",
        "checkin",
        door.organiser.id,
    )


def test_second_scan_reports_first_time(door, make, now):
    reg = make.registration(door.meeting)
    checkin.check_in(door.meeting.id, reg.pass_token, door.organiser.id, now)

    later = now + timedelta(minutes=7)
    result = checkin.check_in(door.meeting.id, reg.pass_token, door.organiser.id, later)

    assert (result.status, result.http_status) == ("already_checked_in", 200)
    assert result.checked_in_at == now
    assert door.meeting.local(now).strftime("%H:%M") in result.message
    assert fresh(reg).checked_in_at == now


def test_pass_url_read_by_a_scanner_is_accepted(door, make, now):
    reg = make.registration(door.meeting)
    url = f"https://eventtrack.example/p/{reg.pass_token}"

    assert checkin.check_in(door.meeting.id, url, door.organiser.id, now).status == "checked_in"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-4],  # truncated
        forged,  # one character forged
        lambda t: "x" * 24,
        lambda t: "",
        lambda t: f"https://evil.example/c/{t}",  # a URL that is not a pass URL
        lambda t: "<script>alert(1)</script>",
    ],
    ids=["truncated", "forged", "made-up", "empty", "other-url", "garbage"],
)
def test_forged_or_truncated_token_is_invalid_and_checks_nobody_in(door, make, now, mangle):
    reg = make.registration(door.meeting)

    result = checkin.check_in(door.meeting.id, mangle(reg.pass_token), door.organiser.id, now)

    assert (result.status, result.http_status) == ("invalid", 404)
    assert result.registration_id is None
    assert fresh(reg).checked_in_at is None


def test_pass_of_another_meeting_is_refused(door, make, now):
    other = make.meeting(door.group, starts_in=timedelta(days=30), now=now, title="Next month")
    reg = make.registration(other)

    result = checkin.check_in(door.meeting.id, reg.pass_token, door.organiser.id, now)

    assert (result.status, result.http_status) == ("not_this_meeting", 409)
    assert "Next month" in result.message  # the organiser may know which meeting it is for
    assert fresh(reg).checked_in_at is None


def test_pass_of_another_organisers_meeting_does_not_say_whose(door, make, now):
    stranger_meeting = make.meeting(make.group(), starts_in=timedelta(minutes=5), now=now)
    reg = make.registration(stranger_meeting, make.member(stranger_meeting.group, name="Zed Q"))

    result = checkin.check_in(door.meeting.id, reg.pass_token, door.organiser.id, now)

    assert result.status == "not_this_meeting"
    assert "Zed" not in result.message
    assert fresh(reg).checked_in_at is None


def test_without_a_meeting_only_the_organisers_own_passes_are_known(door, make, now):
    mine = make.registration(door.meeting)
    stranger_meeting = make.meeting(make.group(), starts_in=timedelta(minutes=5), now=now)
    theirs = make.registration(stranger_meeting)

    assert checkin.check_in(None, mine.pass_token, door.organiser.id, now).status == "checked_in"
    assert checkin.check_in(None, theirs.pass_token, door.organiser.id, now).status == "invalid"
    assert fresh(theirs).checked_in_at is None


def test_cancelled_registration_is_refused(door, make, now):
    reg = make.registration(door.meeting, status="cancelled")

    result = checkin.check_in(door.meeting.id, reg.pass_token, door.organiser.id, now)

    assert (result.status, result.http_status) == ("cancelled", 409)
    assert fresh(reg).checked_in_at is None


def test_cancelled_meeting_checks_nobody_in(door, make, now):
    reg = make.registration(door.meeting)
    door.meeting.status = "cancelled"
    db.session.commit()

    result = checkin.check_in(door.meeting.id, reg.pass_token, door.organiser.id, now)

    assert result.status == "cancelled"
    assert result.message == "This meeting is cancelled."
    assert fresh(reg).checked_in_at is None


@pytest.mark.parametrize("offset", [timedelta(hours=-2), timedelta(hours=3)], ids=["early", "late"])
def test_scan_outside_the_check_in_window_is_not_open(door, make, now, offset):
    reg = make.registration(door.meeting)

    result = checkin.check_in(door.meeting.id, reg.pass_token, door.organiser.id, now + offset)

    assert (result.status, result.http_status) == ("not_open", 409)
    assert "Check-in is open" in result.message
    assert fresh(reg).checked_in_at is None


def test_waitlisted_pass_is_not_admitted_by_scan_but_organiser_can_let_them_in(door, make, now):
    reg = make.registration(door.meeting, status="waitlist")

    scanned = checkin.check_in(door.meeting.id, reg.pass_token, door.organiser.id, now)
    assert scanned.status == "not_open"
    assert "waitlist" in scanned.message

    manual = checkin.check_in_registration(reg, door.organiser, now)
    assert manual.status == "checked_in"
    reg = fresh(reg)
    assert (reg.status, reg.checkin_how) == ("going", "manual")


def test_replayed_nonce_is_a_no_op_that_repeats_the_first_answer(door, make, now):
    reg = make.registration(door.meeting)
    first = checkin.check_in(
        door.meeting.id, reg.pass_token, door.organiser.id, now, nonce="n0nce-0001"
    )

    again = checkin.check_in(
        door.meeting.id,
        reg.pass_token,
        door.organiser.id,
        now + timedelta(minutes=1),
        nonce="n0nce-0001",
    )

    assert first.status == again.status == "checked_in"
    assert again.replayed and not first.replayed
    assert again.checked_in_at == now
    assert len(events()) == 1


def test_another_organisers_nonce_replays_nothing_of_the_first_answer(door, make, now):
    reg = make.registration(door.meeting, make.member(door.group, name="Ana Ruiz"))
    checkin.check_in(door.meeting.id, reg.pass_token, door.organiser.id, now, nonce="n0nce-0002")
    other = make.organiser()
    other_meeting = make.meeting(make.group(other))
    other_reg = make.registration(other_meeting)

    answer = checkin.check_in(
        other_meeting.id, other_reg.pass_token, other.id, now, nonce="n0nce-0002"
    )

    assert answer.status == "invalid" and answer.name == "" and answer.checked_in_at is None
    assert "Ana" not in answer.message
    assert other_reg.checked_in_at is None and len(events()) == 1


def test_a_nonce_reused_for_another_pass_checks_nobody_in_and_names_nobody(door, make, now):
    first = make.registration(door.meeting, make.member(door.group, name="Ana Ruiz"))
    second = make.registration(door.meeting, make.member(door.group, name="Ben Okafor"))
    checkin.check_in(door.meeting.id, first.pass_token, door.organiser.id, now, nonce="n0nce-0003")

    answer = checkin.check_in(
        door.meeting.id, second.pass_token, door.organiser.id, now, nonce="n0nce-0003"
    )

    assert answer.status == "invalid" and answer.registration_id is None
    assert "Ana" not in answer.message and "Ben" not in answer.message
    db.session.expire_all()
    assert second.checked_in_at is None and len(events()) == 1


def test_replayed_nonce_after_an_undo_does_not_check_in_again(door, make, now):
    reg = make.registration(door.meeting)
    checkin.check_in(door.meeting.id, reg.pass_token, door.organiser.id, now, nonce="late-retry-1")
    undo(reg, door.organiser, now + timedelta(minutes=1))

    replay = checkin.check_in(
        door.meeting.id,
        reg.pass_token,
        door.organiser.id,
        now + timedelta(minutes=2),
        nonce="late-retry-1",
    )

    assert replay.replayed
    assert fresh(reg).checked_in_at is None
    assert [e.action for e in events()] == ["checkin", "undo"]


def test_malformed_nonce_is_refused(door, make, now):
    reg = make.registration(door.meeting)
    with pytest.raises(Invalid):
        checkin.check_in(
            door.meeting.id, reg.pass_token, door.organiser.id, now, nonce="bad nonce!"
        )
    assert fresh(reg).checked_in_at is None


def test_undo_is_recorded_not_deleted(door, make, now):
    reg = make.registration(door.meeting)
    checkin.check_in(door.meeting.id, reg.pass_token, door.organiser.id, now)

    result = undo(reg, door.organiser, now + timedelta(minutes=2))

    assert result.status == "undone"
    reg = fresh(reg)
    assert reg.checked_in_at is None and reg.checkin_how is None
    assert [(e.action, e.status) for e in events()] == [
        ("checkin", "checked_in"),
        ("undo", "undone"),
    ]
    assert undo(reg, door.organiser, now).status == "not_checked_in"
    # and the person can be checked in again afterwards
    again = checkin.check_in(
        door.meeting.id, reg.pass_token, door.organiser.id, now + timedelta(minutes=3)
    )
    assert again.status == "checked_in"


def test_undo_of_a_check_in_off_the_waitlist_puts_them_back_in_their_place(door, make, now):
    door.meeting.capacity = 1
    make.registration(door.meeting)  # the one place
    first = make.registration(
        door.meeting, status="waitlist", status_changed_at=now - timedelta(days=2)
    )
    second = make.registration(
        door.meeting, status="waitlist", status_changed_at=now - timedelta(days=1)
    )
    checkin.check_in_registration(fresh(second), door.organiser, now)
    assert (fresh(second).status, fresh(second).status_before_checkin) == ("going", "waitlist")

    result = undo(fresh(second), door.organiser, now + timedelta(minutes=1))

    assert result.status == "undone"
    assert result.message.endswith("(back on the waitlist).")
    reg = fresh(second)
    assert (reg.status, reg.checked_in_at) == ("waitlist", None)
    assert reg.status_changed_at == now - timedelta(days=1)  # behind the first, as before
    assert (reg.status_before_checkin, reg.status_changed_before_checkin) == (None, None)
    assert fresh(first).status == "waitlist"
    assert attendance.counts(door.meeting).waitlist == 2


def test_undo_that_frees_a_place_gives_it_to_the_waitlist_in_its_order(door, make, now):
    door.meeting.capacity = 1
    held = make.registration(door.meeting)
    first = make.registration(
        door.meeting, status="waitlist", status_changed_at=now - timedelta(days=2)
    )
    second = make.registration(
        door.meeting, status="waitlist", status_changed_at=now - timedelta(days=1)
    )
    checkin.check_in_registration(fresh(second), door.organiser, now)
    registrations.cancel(fresh(held), now)  # the one place is the checked-in second's now
    assert fresh(first).status == "waitlist"

    result = undo(fresh(second), door.organiser, now + timedelta(minutes=1))

    # The place is free again and goes to whoever has waited longest: the first, not second.
    assert (fresh(first).status, fresh(second).status) == ("going", "waitlist")
    assert result.message.endswith("(back on the waitlist).")
    mail = db.session.scalars(select(OutboxMessage.dedup_key)).all()
    assert any(key.startswith(f"pass:{first.id}:going:") for key in mail)


def test_undo_keeps_the_place_when_one_is_free(door, make, now):
    door.meeting.capacity = 1
    held = make.registration(door.meeting)
    waiting = make.registration(
        door.meeting, status="waitlist", status_changed_at=now - timedelta(days=1)
    )
    checkin.check_in_registration(fresh(waiting), door.organiser, now)
    held = fresh(held)
    held.status = "cancelled"  # a place freed without the waitlist moving (as an admin edit)
    db.session.commit()

    result = undo(fresh(waiting), door.organiser, now + timedelta(minutes=1))

    reg = fresh(waiting)
    assert (reg.status, reg.checked_in_at) == ("going", None)
    assert result.message.endswith("(still registered: a place is free).")


def test_undo_of_a_cancelled_registration_checked_in_at_the_kiosk_cancels_it_again(door, make, now):
    ana = make.member(door.group, name="Ana Ruiz", email="ana@example.com")
    reg = make.registration(door.meeting, ana, status="cancelled", status_changed_at=now)
    result = checkin.walk_in(door.meeting, "Ana Ruiz", "ana@example.com", None, now, how="kiosk")
    assert result.status == "checked_in" and fresh(reg).status == "going"

    undone = undo(fresh(reg), door.organiser, now + timedelta(minutes=1))

    assert (fresh(reg).status, fresh(reg).status_changed_at) == ("cancelled", now)
    assert undone.message == "Check-in undone: Ana Ruiz (registration cancelled again)."


def test_undo_of_a_plain_check_in_leaves_the_registration_going(door, make, now):
    reg = make.registration(door.meeting, status_changed_at=now - timedelta(days=3))
    checkin.check_in(door.meeting.id, reg.pass_token, door.organiser.id, now)

    result = undo(fresh(reg), door.organiser, now + timedelta(minutes=1))

    assert result.message == f"Check-in undone: {fresh(reg).user.name}"
    assert (fresh(reg).status, fresh(reg).status_changed_at) == ("going", now - timedelta(days=3))


def test_undo_after_the_member_cancelled_keeps_the_cancellation(door, make, now):
    reg = make.registration(door.meeting, status="waitlist", status_changed_at=now)
    checkin.check_in_registration(fresh(reg), door.organiser, now)
    registrations.cancel(fresh(reg), now + timedelta(minutes=1))

    result = undo(fresh(reg), door.organiser, now + timedelta(minutes=2))

    assert (fresh(reg).status, fresh(reg).status_before_checkin) == ("cancelled", None)
    assert result.message == f"Check-in undone: {fresh(reg).user.name}"  # the member cancelled


def test_undo_after_the_member_cancelled_and_registered_again_keeps_them_registered(
    door, make, now
):
    ana = make.member(door.group, name="Ana Ruiz", email="ana@example.com")
    reg = make.registration(door.meeting, ana, status="cancelled", status_changed_at=now)
    checkin.walk_in(door.meeting, "Ana Ruiz", "ana@example.com", None, now, how="kiosk")
    registrations.cancel(fresh(reg), now + timedelta(minutes=1))
    registrations.register(door.meeting, fresh(reg).user, now + timedelta(minutes=2))
    assert fresh(reg).status == "going"

    undo(fresh(reg), door.organiser, now + timedelta(minutes=3))

    assert (fresh(reg).status, fresh(reg).status_changed_at) == (
        "going",
        now + timedelta(minutes=2),
    )


def test_undo_back_to_cancelled_gives_the_place_to_the_waitlist(door, make, now):
    door.meeting.capacity = 2
    make.registration(door.meeting)
    ana = make.member(door.group, name="Ana Ruiz", email="ana@example.com")
    reg = make.registration(door.meeting, ana, status="cancelled", status_changed_at=now)
    checkin.walk_in(door.meeting, "Ana Ruiz", "ana@example.com", None, now, how="kiosk")
    waiting = make.registration(door.meeting, status="waitlist", status_changed_at=now)

    undo(fresh(reg), door.organiser, now + timedelta(minutes=1))

    assert (fresh(reg).status, fresh(waiting).status) == ("cancelled", "going")


def test_the_database_refuses_a_remembered_status_without_a_check_in(door, make, now):
    reg = make.registration(door.meeting)
    reg.status_before_checkin, reg.status_changed_before_checkin = "waitlist", now
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_walk_in_becomes_member_registration_and_check_in(door, now):
    result = checkin.walk_in(
        door.meeting, "Wanda Walker", "Wanda@Example.com", door.organiser, now, company="Acme"
    )

    assert result.status == "checked_in"
    assert result.first_time
    user = db.session.scalar(select(User).where(User.email == "wanda@example.com"))
    assert (user.name, user.company) == ("Wanda Walker", "Acme")
    assert db.session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.group_id == door.group.id
        )
    )
    reg = db.session.scalar(select(Registration).where(Registration.user_id == user.id))
    assert (reg.status, reg.checkin_how, reg.checked_in_at) == ("going", "walk_in", now)
    assert attendance.counts(door.meeting).walk_ins == 1


def test_walk_in_of_a_registered_member_checks_in_their_registration(door, make, now):
    ana = make.member(door.group, name="Ana Ruiz", email="ana@example.com")
    reg = make.registration(door.meeting, ana, status="cancelled")

    result = checkin.walk_in(door.meeting, "Someone Else", "ana@example.com", door.organiser, now)

    assert result.status == "checked_in"
    assert result.registration_id == reg.id
    reg = fresh(reg)
    assert (reg.status, reg.checkin_how) == ("going", "manual")
    assert reg.user.name == "Ana Ruiz"  # an organiser cannot rename an existing account
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1


def test_walk_in_with_a_bad_email_is_refused(door, now):
    with pytest.raises(Invalid) as exc:
        checkin.walk_in(door.meeting, "No Mail", "not-an-email", door.organiser, now)
    assert exc.value.field == "email"


def test_self_check_in_of_signed_in_member(door, make, now):
    ana = make.member(door.group)
    reg = make.registration(door.meeting, ana)

    result = checkin.self_check_in(door.meeting, ana, now, "kiosk")

    assert result.status == "checked_in"
    reg = fresh(reg)
    assert (reg.checkin_how, reg.checked_in_by_id) == ("kiosk", ana.id)


def test_self_check_in_without_registration_asks_for_email(door, make, now):
    assert checkin.self_check_in(door.meeting, make.member(door.group), now, "kiosk") is None


def test_self_check_in_by_email_checks_in_and_only_mails_a_sign_in_link(door, make, now):
    ana = make.member(door.group, name="Ana Ruiz", email="ana@example.com")
    reg = make.registration(door.meeting, ana)

    result = checkin.self_check_in_by_email(
        door.meeting, "Mallory", "ANA@example.com", now, "poster", next_url="/m/1"
    )

    assert result.status == "checked_in"
    assert fresh(reg).checkin_how == "poster"
    [mail] = db.session.scalars(select(OutboxMessage)).all()
    assert (mail.kind, mail.recipient) == ("login_link", "ana@example.com")
    assert db.session.get(User, ana.id).name == "Ana Ruiz"


def test_self_check_in_by_new_email_makes_a_walk_in(door, now):
    result = checkin.self_check_in_by_email(
        door.meeting, "Nina New", "nina@example.com", now, "kiosk"
    )

    assert result.status == "checked_in"
    reg = db.session.scalar(select(Registration))
    assert (reg.user.name, reg.checkin_how, reg.status) == ("Nina New", "walk_in", "going")


def test_self_check_in_by_email_of_a_cancelled_registration_takes_a_free_place(door, make, now):
    reg = make.registration(
        door.meeting, make.member(door.group, email="c@example.com"), status="cancelled"
    )

    result = checkin.self_check_in_by_email(door.meeting, "C", "c@example.com", now, "kiosk")

    assert result.status == "checked_in"
    assert (fresh(reg).status, fresh(reg).checked_in_at) == ("going", now)


def test_self_check_in_by_email_of_a_cancelled_registration_of_a_full_meeting_is_refused(make, now):
    organiser = make.organiser()
    group = make.group(organiser)
    meeting = make.meeting(group, starts_in=timedelta(minutes=10), capacity=1, now=now)
    make.registration(meeting, make.member(group))
    reg = make.registration(meeting, make.member(group, email="c@example.com"), status="cancelled")

    result = checkin.self_check_in_by_email(meeting, "C", "c@example.com", now, "kiosk")

    assert not result.ok
    assert (fresh(reg).status, fresh(reg).checked_in_at) == ("cancelled", None)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_self_check_in_by_email_outside_the_window_is_not_open(door, now):
    result = checkin.self_check_in_by_email(
        door.meeting, "Late", "late@example.com", now + timedelta(hours=5), "poster"
    )

    assert result.status == "not_open"
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_first_time_means_first_attended_meeting_of_this_group(door, make, now):
    regular = make.member(door.group)
    earlier = make.meeting(door.group, starts_in=timedelta(days=-30), now=now)
    make.registration(earlier, regular, checked_in_at=earlier.starts_at)
    no_show = make.member(door.group)
    make.registration(earlier, no_show)  # registered last time but never came
    elsewhere = make.member(door.group)
    other_group_meeting = make.meeting(make.group(), starts_in=timedelta(days=-30), now=now)
    make.registration(other_group_meeting, elsewhere, checked_in_at=other_group_meeting.starts_at)

    answers = {}
    for user in (regular, no_show, elsewhere):
        reg = make.registration(door.meeting, user)
        answers[user.id] = checkin.check_in(
            door.meeting.id, reg.pass_token, door.organiser.id, now
        ).first_time

    assert answers == {regular.id: False, no_show.id: True, elsewhere.id: True}
    assert {r.user_id for r in attendance.first_timers(door.meeting)} == {no_show.id, elsewhere.id}


def test_attendance_counts_and_door_feed(door, make, now):
    regs = [make.registration(door.meeting) for _ in range(3)]
    make.registration(door.meeting, status="waitlist")
    make.registration(door.meeting, status="cancelled")
    checkin.check_in(door.meeting.id, regs[0].pass_token, door.organiser.id, now)
    checkin.check_in(door.meeting.id, regs[0].pass_token, door.organiser.id, now)
    checkin.check_in(door.meeting.id, "bogus-token-123", door.organiser.id, now)
    checkin.walk_in(door.meeting, "Walker", "walker@example.com", door.organiser, now)

    counts = attendance.counts(door.meeting)

    # Registered: the three with a place (rules.registered, as in the reports); the walk-in came
    # without one and is counted as such.
    assert (counts.registered, counts.checked_in, counts.walk_ins, counts.waitlist) == (3, 2, 1, 1)
    assert counts.first_timers == 2
    feed = attendance.feed(door.meeting)
    assert [(f.status, f.name) for f in feed] == [
        ("checked_in", "Walker"),
        ("invalid", ""),
        ("already_checked_in", regs[0].user.name),
        ("checked_in", regs[0].user.name),
    ]
    assert feed[0].first_time and not feed[1].first_time


def test_search_finds_by_name_email_or_company(door, make, now):
    ana = make.member(door.group, name="Ana Ruiz", email="ana@acme.test", company="Acme")
    bob = make.member(door.group, name="Bob 100%", email="bob@zeta.test", company="Quux")
    make.registration(door.meeting, ana)
    make.registration(door.meeting, bob)
    members.mark_engaged(door.group.id, ana.id, now)  # Ana took part: her profile shows

    def names(q):
        return [found.person.name for found in attendance.search(door.meeting, q)]

    assert names("ruiz") == ["Ana Ruiz"]
    assert names("ZETA.test") == ["Bob 100%"]
    assert names("acme") == ["Ana Ruiz"]
    assert names("quux") == []  # Bob's own company is not the organisers' to see, or search
    assert names("100%") == ["Bob 100%"]
    assert names("%") == ["Bob 100%"]  # a literal percent sign, not a wildcard
    assert names("") == ["Ana Ruiz", "Bob 100%"]


def _keyed(group, user, *, engaged=False):
    """Write the membership's search key as it is kept (``models.search.fold`` of what the
    organisers may see: the account's name and company once engaged, else the typed name)."""
    from eventtrack.models.search import fold

    membership = db.session.scalar(
        select(Membership).where(Membership.group_id == group.id, Membership.user_id == user.id)
    )
    parts = (
        (user.name, user.email, user.company) if engaged else (membership.typed_name, user.email)
    )
    membership.search_key = fold(*parts)
    db.session.commit()


@pytest.mark.parametrize("query", ["Özlem", "ÖZLEM", "ozlem", "özlem", "YILMAZ", "Müller"])
def test_search_ignores_case_and_accents_on_both_databases(door, make, now, query):
    ozlem = make.member(door.group, name="Özlem Yılmaz-Müller", email="oy@example.com")
    other = make.member(door.group, name="Oscar Other", email="oscar@example.com")
    for user in (ozlem, other):
        make.registration(door.meeting, user)
        _keyed(door.group, user)

    assert [f.person.name for f in attendance.search(door.meeting, query)] == [
        "Özlem Yılmaz-Müller"
    ]


def test_search_by_a_company_the_organisers_may_not_see_finds_nobody(door, make, now):
    hidden = make.member(door.group, name="Zoë Zed", email="zz@example.com", company="Ünicorn")
    make.registration(door.meeting, hidden)
    _keyed(door.group, hidden)  # not engaged: her company is hers, not the organisers'

    assert list(attendance.search(door.meeting, "unicorn")) == []
    assert [f.person.name for f in attendance.search(door.meeting, "zoe")] == ["Zoë Zed"]


def test_search_is_one_query_and_counts_every_match(door, make, count_queries):
    make.registrations(door.meeting, 45)  # people P0…P44, not members: found by address only
    assert door.meeting.group_id  # loaded: the count below is the searches' alone

    with count_queries() as counter:
        everyone = attendance.search(door.meeting, "")
        some = attendance.search(door.meeting, "p1")
        nobody = attendance.search(door.meeting, "nobody-at-all")

    assert counter.count == 3  # one each, the count included
    assert (len(everyone), everyone.total, everyone.cut) == (30, 45, True)
    assert (len(some), some.total, some.cut) == (11, 11, False)  # p1, p10…p19
    assert (len(nobody), nobody.total, nobody.cut) == (0, 0, False)


@pytest.mark.parametrize(
    ("code", "token"),
    [
        ("https://x.test/p/abcdefghijklmnop", "abcdefghijklmnop"),
        ("https://x.test/p/abcdefghijklmnop/", "abcdefghijklmnop"),
        ("https://x.test/base/p/abcdefghijklmnop?utm=1", "abcdefghijklmnop"),
        ("  abcdefghijklmnop \n", "abcdefghijklmnop"),
        ("https://x.test/door/in/1.2.abcdefghijklmnop", ""),
        ("abc def ghij klmnop", ""),
    ],
)
def test_extract_token(code, token):
    assert checkin.extract_token(code) == token


# --- Real concurrency: threads, each with its own app context, session and connection ------


def _concurrently(app, calls, workers):
    """Run ``calls`` (functions of no argument) on ``workers`` threads, released together."""
    gate = threading.Event()

    def run(call):
        gate.wait(30)
        with app.app_context():
            try:
                return call()
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run, call) for call in calls]
        gate.set()
        return [f.result() for f in futures]


def test_fifty_concurrent_scans_of_one_pass_check_in_exactly_once(app, door, make, now):
    reg = make.registration(door.meeting)
    meeting_id, organiser_id, token = door.meeting.id, door.organiser.id, reg.pass_token

    def scan():
        return checkin.check_in(meeting_id, token, organiser_id, now).status

    statuses = _concurrently(app, [scan] * 50, workers=50)

    assert statuses.count("checked_in") == 1
    assert statuses.count("already_checked_in") == 49
    assert len(events(status="checked_in")) == 1
    assert fresh(reg).checked_in_at == now


def test_five_hundred_passes_checked_in_concurrently_give_five_hundred_rows(app, door, make, now):
    regs = make.registrations(door.meeting, 500)
    tokens = [r.pass_token for r in regs]
    meeting_id, organiser_id = door.meeting.id, door.organiser.id

    def scanner(token):
        def scan():
            return checkin.check_in(meeting_id, token, organiser_id, now).status

        return scan

    statuses = _concurrently(app, [scanner(t) for t in tokens], workers=32)

    assert statuses == ["checked_in"] * 500
    checked = db.session.scalar(
        select(func.count()).where(
            Registration.meeting_id == door.meeting.id, Registration.checked_in_at.is_not(None)
        )
    )
    assert checked == 500
    assert len(events(status="checked_in")) == 500


def test_concurrent_replays_of_one_nonce_check_in_once(app, door, make, now):
    reg = make.registration(door.meeting)
    meeting_id, organiser_id, token = door.meeting.id, door.organiser.id, reg.pass_token

    def scan():
        return checkin.check_in(
            meeting_id,
            token,
            organiser_id,
            now,
            nonce="same-nonce-everywhere",
        ).status

    statuses = _concurrently(app, [scan] * 20, workers=20)

    assert statuses == ["checked_in"] * 20  # every retry hears the first answer
    assert len(events()) == 1


def test_kiosk_walk_in_of_a_full_meeting_joins_the_waitlist_unchecked(make, now):
    organiser = make.organiser()
    group = make.group(organiser)
    meeting = make.meeting(group, starts_in=timedelta(minutes=10), capacity=1, now=now)
    make.registration(meeting, make.member(group))

    result = checkin.walk_in(meeting, "New Person", "new@example.com", None, now, how="kiosk")

    assert result.status == "not_open" and "waitlist" in result.message
    [reg] = [r for r in meeting.registrations if r.user.email == "new@example.com"]
    assert reg.status == "waitlist" and reg.checked_in_at is None


def test_organiser_walk_in_may_go_over_capacity(make, now):
    organiser = make.organiser()
    group = make.group(organiser)
    meeting = make.meeting(group, starts_in=timedelta(minutes=10), capacity=1, now=now)
    make.registration(meeting, make.member(group))

    result = checkin.walk_in(meeting, "Guest", "guest@example.com", organiser, now)

    assert result.status == "checked_in"


# --- A full meeting at the kiosk, then the organiser's walk-in (#13) ------------------------


def _full_meeting(make, now):
    organiser = make.organiser()
    group = make.group(organiser)
    meeting = make.meeting(group, starts_in=timedelta(minutes=10), capacity=1, now=now)
    make.registration(meeting, make.member(group))
    return organiser, meeting


def test_kiosk_at_a_full_meeting_says_the_newcomer_is_on_the_waitlist(make, now):
    _, meeting = _full_meeting(make, now)

    result = checkin.self_check_in_by_email(meeting, "New", "new@example.com", now, "kiosk")

    assert (result.status, result.waitlisted, result.ok) == ("not_open", True, False)
    assert "you are on the waitlist" in result.message
    [reg] = [r for r in meeting.registrations if r.user.email == "new@example.com"]
    assert (reg.status, reg.checked_in_at) == ("waitlist", None)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_kiosk_at_a_full_meeting_gives_someone_already_waiting_the_same_answer(make, now):
    _, meeting = _full_meeting(make, now)
    waiting = make.registration(
        meeting, make.member(meeting.group, email="w@example.com"), "waitlist"
    )

    first = checkin.self_check_in_by_email(meeting, "W", "w@example.com", now, "poster")
    new = checkin.self_check_in_by_email(meeting, "N", "n@example.com", now, "poster")

    assert (first.status, first.waitlisted) == (new.status, new.waitlisted) == ("not_open", True)
    assert fresh(waiting).status == "waitlist"
    assert [e.registration_id for e in events(status="not_open")][0] == waiting.id


def test_replayed_kiosk_ticket_still_says_waitlisted(make, now):
    _, meeting = _full_meeting(make, now)
    args = (meeting, "New", "new@example.com", now, "kiosk")

    first = checkin.self_check_in_by_email(*args, nonce="ticket-nonce-1")
    again = checkin.self_check_in_by_email(*args, nonce="ticket-nonce-1")

    assert again.replayed and (again.status, again.waitlisted) == ("not_open", True)
    assert first.registration_id == again.registration_id


def test_organiser_letting_in_someone_the_kiosk_waitlisted_counts_a_walk_in(make, now):
    organiser, meeting = _full_meeting(make, now)
    checkin.self_check_in_by_email(meeting, "New", "new@example.com", now, "kiosk")
    assert attendance.counts(meeting).walk_ins == 0

    result = checkin.walk_in(meeting, "New", "new@example.com", organiser, now)

    assert result.status == "checked_in"
    [reg] = [r for r in meeting.registrations if r.user.email == "new@example.com"]
    reg = fresh(reg)
    assert (reg.status, reg.checkin_how, reg.checked_in_by_id) == ("going", "walk_in", organiser.id)
    counts = attendance.counts(meeting)
    assert (counts.walk_ins, counts.checked_in, counts.waitlist) == (1, 1, 0)
