"""Adding an address to a group reveals nothing of the account behind it, and tells its owner
(issue #11, finding 3): the services, without HTTP."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from eventtrack.extensions import db
from eventtrack.models import Membership, OutboxMessage, Registration, User
from eventtrack.services import checkin, demo, groups, members, registrations
from eventtrack.services.errors import DomainError, Invalid, NotFound
from eventtrack.transaction import atomic
from tests.factories import forged


@pytest.fixture
def alan(make):
    """Alan has an account and takes part in organiser A's group."""
    group_a = make.group(make.organiser(name="Anna A"), name="Group A")
    alan = make.member(
        group_a, name="Alan Turing", email="alan@example.com", company="Bletchley Park"
    )
    members.accept(
        db.session.scalar(select(Membership).filter_by(user_id=alan.id)), alan.created_at
    )
    db.session.commit()
    return alan


@pytest.fixture
def bea(make):
    return make.organiser(name="Bea B")


@pytest.fixture
def group_b(make, bea):
    return make.group(bea, name="Group B")


def _add_alan(group_b, bea, now):
    return groups.add_member(
        group_b, "A. Nonymous", "ALAN@example.com", "Typed Ltd", added_by=bea, now=now
    )


def _alan_as_seen_by(group):
    [view] = [m for m in members.member_views(group) if m.user.email == "alan@example.com"]
    return view


def test_adding_an_existing_account_keeps_and_shows_only_what_was_typed(alan, bea, group_b, now):
    membership, created = _add_alan(group_b, bea, now)
    assert created and membership.user_id == alan.id
    assert membership.typed_name == "A. Nonymous" and membership.engaged_at is None
    assert (alan.name, alan.company) == ("Alan Turing", "Bletchley Park")  # nothing changed
    seen = _alan_as_seen_by(group_b).user
    assert (seen.name, seen.email, seen.company, seen.engaged) == (
        "A. Nonymous",
        "alan@example.com",
        "Typed Ltd",  # what organiser B typed, kept on the membership
        False,
    )
    assert members.member_view(membership).user == seen
    assert members.person(group_b.id, alan.id) == seen
    # Organiser A, whose group Alan takes part in, still sees him.
    assert members.person(alan.memberships[0].group_id, alan.id).name == "Alan Turing"


def test_a_new_address_becomes_an_account_with_the_typed_name(bea, group_b, now):
    membership, created = groups.add_member(group_b, "Grace", "grace@example.com", "Navy")
    assert created and membership.user.name == "Grace" and membership.user.company == "Navy"
    # Not yet taking part: her organisers see what they typed, no profile.
    membership.user.company = "Her own company"
    assert members.person(group_b.id, membership.user_id).company == "Navy"


@pytest.mark.parametrize("how", ["rsvp", "check_in", "accept"])
def test_taking_part_shows_the_account_to_the_groups_organisers(alan, bea, group_b, make, now, how):
    membership, _ = _add_alan(group_b, bea, now)
    meeting = make.meeting(group_b, starts_in=timedelta(minutes=10), now=now)
    if how == "rsvp":
        registrations.register(meeting, alan, now, by_member=True)
    elif how == "check_in":
        with atomic():  # an organiser registered him; a check-in is a transaction of its own
            reg, _ = registrations.register(meeting, alan, now)
        assert _alan_as_seen_by(group_b).user.name == "A. Nonymous"
        assert checkin.check_in_registration(reg, bea, now).status == checkin.CHECKED_IN
    else:
        members.accept(membership, now)
    db.session.commit()
    seen = _alan_as_seen_by(group_b).user
    assert (seen.name, seen.company, seen.engaged) == ("Alan Turing", "Bletchley Park", True)


def test_being_registered_by_an_organiser_or_checked_in_elsewhere_is_not_taking_part(
    alan, bea, group_b, make, now
):
    _add_alan(group_b, bea, now)
    registrations.register(make.meeting(group_b, now=now), alan, now)
    [group_a_id] = [m.group_id for m in alan.memberships if m.group_id != group_b.id]
    other = make.meeting(db.session.get(type(group_b), group_a_id), now=now)
    make.registration(other, alan, checked_in_at=now)
    assert _alan_as_seen_by(group_b).user.name == "A. Nonymous"


def test_the_notice_is_queued_in_the_same_transaction(alan, bea, group_b, now):
    _add_alan(group_b, bea, now)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    db.session.rollback()  # the add fails later in the request: no membership, no mail
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert len(members.member_views(group_b)) == 1

    membership, _ = _add_alan(group_b, bea, now)
    mail = db.session.scalar(select(OutboxMessage))
    assert (mail.kind, mail.recipient, mail.user_id) == ("group_notice", alan.email, alan.id)
    assert mail.dedup_key.startswith(f"group_notice:{membership.id}:")
    assert mail.subject == "Bea B added you to Group B on eventtrack"
    token = members.notice_token(membership)
    for body in (mail.body_text, mail.body_html):
        assert f"http://eventtrack.test/membership/{token}?action=leave" in body.replace(
            "&amp;", "&"
        )
        assert f"/membership/{token}?action=accept" in body.replace("&amp;", "&")
        assert "A. Nonymous" in body and "Alan Turing" not in body

    _add_alan(group_b, bea, now)  # already a member: nothing new to tell
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_too_long_input_is_refused_never_cut(group_b):
    with pytest.raises(Invalid, match="at most 120 characters") as exc:
        groups.add_member(group_b, "x" * 121, "long@example.com")
    assert exc.value.field == "name"
    with pytest.raises(Invalid, match="at most 120") as exc:
        groups.add_member(group_b, "Ok", "long@example.com", "c" * 121)
    assert exc.value.field == "company"
    with pytest.raises(Invalid, match="at most 120"):
        groups.create_group(group_b.memberships[0].user, "g" * 121)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(User.email == "long@example.com")) == 0


def test_csv_import_follows_the_same_rules_all_or_nothing(alan, bea, group_b, now):
    bad = f"A. Nonymous,alan@example.com\n{'x' * 121},long@example.com\n"
    result = groups.import_members_csv(group_b, bad, added_by=bea, now=now)
    assert result.errors == ["Line 2: Name can be at most 120 characters (this one has 121)."]
    db.session.rollback()
    assert len(members.member_views(group_b)) == 1

    good = "A. Nonymous,alan@example.com,Typed\nGrace,grace@example.com\n"
    result = groups.import_members_csv(group_b, good, added_by=bea, now=now)
    assert (result.added, result.existing, result.errors) == (2, 0, [])
    assert {m.user.name for m in members.member_views(group_b)} >= {"A. Nonymous", "Grace"}
    assert alan.name == "Alan Turing" and alan.company == "Bletchley Park"
    notices = db.session.scalars(select(OutboxMessage.recipient).order_by(OutboxMessage.id))
    assert notices.all() == ["alan@example.com", "grace@example.com"]


def test_notice_token_is_bound_to_membership_user_and_address(alan, bea, group_b, now):
    membership, _ = _add_alan(group_b, bea, now)
    token = members.notice_token(membership)
    assert members.membership_for_token(token) == membership
    for bad in (forged(token), "nonsense", ""):
        with pytest.raises(NotFound):
            members.membership_for_token(bad)
    alan.email = "alan.turing@example.com"  # the address changed hands
    with pytest.raises(NotFound):
        members.membership_for_token(token)


def test_an_expired_notice_token_is_not_found(alan, bea, group_b, now, monkeypatch):
    membership, _ = _add_alan(group_b, bea, now)
    token = members.notice_token(membership)
    monkeypatch.setattr(members, "NOTICE_LINK_DAYS", -1)
    with pytest.raises(NotFound):
        members.membership_for_token(token)


def test_leaving_removes_the_membership_and_old_links_stop_working(alan, bea, group_b, now):
    membership, _ = _add_alan(group_b, bea, now)
    token = members.notice_token(membership)
    members.leave(membership)
    db.session.commit()
    assert [m.user.email for m in members.member_views(group_b)] == [bea.email]
    with pytest.raises(NotFound):
        members.membership_for_token(token)
    # Re-added (SQLite may even give the new membership the old id): new notice, new links.
    again, created = _add_alan(group_b, bea, now + timedelta(seconds=1))
    assert created
    with pytest.raises(NotFound):
        members.membership_for_token(token)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_the_last_organiser_cannot_leave(bea, group_b, make):
    [own] = group_b.memberships
    with pytest.raises(DomainError) as exc:
        members.leave(own)
    assert exc.value.code == "last_organiser" and "only organiser of Group B" in exc.value.message
    db.session.rollback()
    co = make.organiser()
    db.session.add(Membership(group_id=group_b.id, user_id=co.id, role="organiser"))
    db.session.commit()
    members.leave(own)
    db.session.commit()
    assert [m.user_id for m in members.member_views(group_b)] == [co.id]


def test_resend_pass_queues_a_fresh_mail_once_a_minute(make, now):
    now = now.replace(second=10)  # a second later is the same minute (the key holds the minute)
    meeting = make.meeting(make.group(), now=now)
    reg, _ = registrations.register(meeting, make.member(meeting.group), now)
    assert registrations.resend_pass(reg, now)
    assert not registrations.resend_pass(reg, now + timedelta(seconds=1))
    assert registrations.resend_pass(reg, now + timedelta(minutes=1))
    db.session.commit()
    keys = db.session.scalars(select(OutboxMessage.dedup_key).order_by(OutboxMessage.id)).all()
    assert len(keys) == len(set(keys)) == 3
    assert all(k.startswith(f"pass:{reg.id}:") for k in keys)
    registrations.cancel(reg, now)
    with pytest.raises(Invalid):
        registrations.resend_pass(reg, now)


def test_organisers_list_shows_each_pass_mails_state_in_one_query(make, now, count_queries):
    group = make.group()
    meeting = make.meeting(group, now=now)
    regs = [registrations.register(meeting, make.member(group), now)[0] for _ in range(4)]
    make.registration(meeting, make.member(group))  # no mail at all
    ids = db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)).all()
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == ids[0]).values(status="sent", sent_at=now)
    )
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == ids[1])
        .values(status="failed", last_error="550 no such mailbox")
    )
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == ids[2]).values(status="sending")
    )
    registrations.resend_pass(regs[0], now + timedelta(minutes=5))  # the newest one counts
    db.session.commit()
    db.session.expire_all()
    assert meeting.group_id  # loaded: the count is of the list's queries
    with count_queries() as counter:
        views = {v.id: v for v in registrations.for_organisers(meeting)}
    assert counter.count == 1
    states = [(views[r.id].mail.state, views[r.id].mail.error) for r in regs]
    assert states == [
        ("queued", ""),
        ("failed", "550 no such mailbox"),
        ("queued", ""),
        ("queued", ""),
    ]
    assert sum(v.mail is None for v in views.values()) == 1
    assert not any(hasattr(v, "pass_token") for v in views.values())


def test_demo_members_have_taken_part(app, now):
    demo.load_demo(now)
    group_members = db.session.scalars(select(Membership)).all()
    assert all(m.engaged_at is not None for m in group_members)
    group = group_members[0].group
    assert "Ada Lovelace" in {m.user.name for m in members.member_views(group)}
    assert db.session.scalar(select(func.count()).select_from(Registration)) > 0
