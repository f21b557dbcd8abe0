from datetime import timedelta

import pytest
from sqlalchemy import select

from eventtrack.extensions import db
from eventtrack.models import OutboxMessage
from eventtrack.services import registrations
from eventtrack.services.errors import Invalid
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
