from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import OutboxMessage, Registration
from eventtrack.services import registrations
from eventtrack.services.errors import Invalid
from eventtrack.services.outbox import queue as outbox_queue
from eventtrack.transaction import atomic


def test_register_gives_a_random_opaque_pass_and_queues_the_pass_email(make, now):
    group = make.group()
    m = make.meeting(group, now=now)
    user = make.member(group, name="Ada Lovelace", email="ada@example.com")
    reg, changed = registrations.register(m, user, now)
    assert changed and reg.status == "going"
    assert len(reg.pass_token) >= 22  # 18 random bytes → 144 bits
    assert "ada" not in reg.pass_token.lower()
    mail = db.session.scalar(select(OutboxMessage))
    assert mail.kind == "pass" and mail.recipient == "ada@example.com"
    assert f"/p/{reg.pass_token}" in mail.body_text
    assert mail.meeting_id == m.id


def test_registering_twice_changes_nothing_and_mails_once(make, now):
    group = make.group()
    m, user = make.meeting(group, now=now), make.member(group)
    first, _ = registrations.register(m, user, now)
    second, changed = registrations.register(m, user, now)
    assert not changed and first.id == second.id
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 1


def test_full_meeting_puts_people_on_the_waitlist(make, now):
    group = make.group()
    m = make.meeting(group, capacity=2, now=now)
    regs = [registrations.register(m, make.member(group), now)[0] for _ in range(3)]
    assert [r.status for r in regs] == ["going", "going", "waitlist"]
    subjects = db.session.scalars(select(OutboxMessage.subject).order_by(OutboxMessage.id)).all()
    assert subjects[-1].startswith("Waitlist:")


def test_cancelling_a_place_promotes_the_first_on_the_waitlist(make, now):
    group = make.group()
    m = make.meeting(group, capacity=1, now=now)
    a, b, c = (registrations.register(m, make.member(group), now)[0] for _ in range(3))
    promoted = registrations.cancel(a, now + timedelta(seconds=1))
    assert promoted == b
    assert (a.status, b.status, c.status) == ("cancelled", "going", "waitlist")
    last = db.session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))
    assert last.recipient == b.user.email and last.subject.startswith("A place opened up")


def test_reregistering_after_cancel_reuses_the_pass(make, now):
    group = make.group()
    m, user = make.meeting(group, now=now), make.member(group)
    reg, _ = registrations.register(m, user, now)
    registrations.cancel(reg, now)
    again, changed = registrations.register(m, user, now + timedelta(minutes=1))
    assert changed and again.id == reg.id and again.status == "going"
    assert again.pass_token == reg.pass_token


@pytest.mark.parametrize("case", ["not_member", "cancelled", "over"])
def test_register_refusals(make, now, case):
    group = make.group()
    m = make.meeting(group, now=now)
    user = make.member(group)
    if case == "not_member":
        user = make.user()
    elif case == "cancelled":
        m.status = "cancelled"
    else:
        now = m.ends_at + timedelta(minutes=1)
    with pytest.raises(Invalid):
        registrations.register(m, user, now)
    assert db.session.scalar(select(OutboxMessage)) is None


def test_unique_constraint_rejects_a_second_row_for_the_same_person(make, now):
    group = make.group()
    m, user = make.meeting(group, now=now), make.member(group)
    make.registration(m, user)
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        make.registration(m, user)
    db.session.rollback()


def test_concurrent_rsvps_never_fail_and_never_overbook(app, make, now):
    """20 members RSVP at once for 5 places: every request answers, exactly 5 go."""
    from concurrent.futures import ThreadPoolExecutor

    from eventtrack.models import Meeting, User

    group = make.group()
    meeting_id = make.meeting(group, now=now, capacity=5).id
    user_ids = [make.member(group).id for _ in range(20)]
    db.session.remove()

    def rsvp(user_id):
        with app.app_context():
            try:
                with atomic():
                    reg, _ = registrations.register(
                        db.session.get(Meeting, meeting_id), db.session.get(User, user_id), now
                    )
                return reg.status
            except Exception as exc:  # a 500 for that member: what this test is about
                return repr(exc)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(rsvp, user_ids))

    assert sorted(answers) == ["going"] * 5 + ["waitlist"] * 15


# --- register everyone (one organiser action, set-based) -------------------------------------


def _pass_mails(meeting_id):
    return db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.meeting_id == meeting_id, OutboxMessage.kind == "pass")
        .order_by(OutboxMessage.id)
    ).all()


def test_register_everyone_fills_the_places_then_the_waitlist_and_mails_each(make, now):
    group = make.group()
    meeting = make.meeting(group, capacity=3, now=now)
    people = [make.member(group) for _ in range(4)]  # with the organiser: 5 members
    registrations.register(meeting, people[0], now)  # already going: not counted, not mailed

    with atomic():
        counts = registrations.register_everyone(meeting, now)

    assert counts == {"going": 2, "waitlist": 2, "already": 0}
    statuses = db.session.execute(
        select(Registration.status, func.count())
        .where(Registration.meeting_id == meeting.id)
        .group_by(Registration.status)
    ).all()
    assert dict(statuses) == {"going": 3, "waitlist": 2}
    mails = _pass_mails(meeting.id)
    assert len(mails) == 5  # one for the first RSVP, one per newly registered
    assert sum(m.subject.startswith("Waitlist:") for m in mails) == 2


def test_register_everyone_reregisters_the_cancelled_and_skips_non_members(make, now):
    group = make.group()
    meeting = make.meeting(group, now=now)
    comeback = make.member(group)
    reg, _ = registrations.register(meeting, comeback, now)
    registrations.cancel(reg, now)
    outsider = make.user()
    registrations_before = len(_pass_mails(meeting.id))

    counts = registrations.register_everyone(meeting, now + timedelta(seconds=1))

    db.session.refresh(reg)
    assert reg.status == "going"
    assert counts["going"] == 2  # the organiser and the member who had cancelled
    assert registrations.registration_for(meeting, outsider) is None
    assert len(_pass_mails(meeting.id)) == registrations_before + 2


def test_register_everyone_twice_registers_and_mails_nobody_again(make, now):
    group = make.group()
    meeting = make.meeting(group, now=now)
    make.member(group)
    registrations.register_everyone(meeting, now)
    mails = len(_pass_mails(meeting.id))

    assert registrations.register_everyone(meeting, now) == {
        "going": 0,
        "waitlist": 0,
        "already": 0,
    }
    assert len(_pass_mails(meeting.id)) == mails == 2


@pytest.mark.parametrize("how", ["cancelled", "over"])
def test_register_everyone_refuses_a_cancelled_or_past_meeting(make, now, how):
    group = make.group()
    make.member(group)
    if how == "over":
        meeting = make.meeting(group, starts_in=timedelta(days=-2), now=now)
    else:
        meeting = make.meeting(group, now=now, status="cancelled")
    with pytest.raises(Invalid):
        registrations.register_everyone(meeting, now)
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_register_everyone_leaves_nothing_when_a_pass_mail_fails(make, now, monkeypatch):
    group = make.group()
    meeting = make.meeting(group, now=now)
    for _ in range(3):
        make.member(group)
    calls = []

    def third_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the outbox insert failed")
        return real(*args, **kwargs)

    # The third pass mail fails while it is being made, after the registrations were written.
    real = outbox_queue.render_mail
    monkeypatch.setattr(outbox_queue, "render_mail", third_fails)
    with pytest.raises(RuntimeError), atomic():
        registrations.register_everyone(meeting, now)
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


# --- the organiser's pages of registrations --------------------------------------------------


def test_registrations_page_pages_and_searches_with_accents_and_case(make, now):
    from eventtrack.models import Membership
    from eventtrack.services import members, registration_views

    group = make.group()
    meeting = make.meeting(group, now=now)
    oz = make.member(group, name="Özlem Yılmaz")
    for i in range(6):
        registrations.register(meeting, make.member(group, name=f"Filler {i}"), now)
    registrations.register(meeting, oz, now)
    members.refresh_search_keys(Membership.group_id == group.id)

    first = registration_views.registrations_page(meeting, "", 1, per_page=5)
    second = registration_views.registrations_page(meeting, "", 2, per_page=5)
    assert (first.total, len(first.items), first.pages, len(second.items)) == (7, 5, 2, 2)
    assert {v.id for v in first.items}.isdisjoint({v.id for v in second.items})
    for query in ("ozlem", "ÖZLEM", "yilmaz"):
        found = registration_views.registrations_page(meeting, query, 1)
        assert [v.user.id for v in found.items] == [oz.id] and found.total == 1
    past_the_end = registration_views.registrations_page(meeting, "", 99, per_page=5)
    assert past_the_end.page == 2  # the last page, not an empty one


def test_unregistered_page_lists_only_members_not_registered(make, now):
    from eventtrack.services import registration_views

    group = make.group()
    meeting = make.meeting(group, now=now)
    going = make.member(group)
    waiting = make.member(group)
    registrations.register(meeting, going, now)
    make.user()  # not a member: never listed
    listed = registration_views.unregistered_page(meeting, "", 1)
    assert {p.id for p in listed.items} == {waiting.id, group.memberships[0].user_id}
    assert registration_views.unregistered_count(meeting) == listed.total == 2
