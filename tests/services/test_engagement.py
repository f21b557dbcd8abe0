"""A member checked in at the door becomes searchable by their own name within a worker round
(the door's one statement writes only the check-in)."""

from datetime import timedelta

from sqlalchemy import select

from eventtrack.extensions import db
from eventtrack.models import Membership
from eventtrack.services import checkin, engagement, members
from eventtrack.transaction import atomic


def _found(group, query):
    return [m.user.name for m in members.member_page(group, query=query).members]


def test_a_member_checked_in_at_the_door_is_found_by_their_own_name_after_a_round(make, now):
    organiser = make.organiser()
    group = make.group(organiser)
    meeting = make.meeting(group, starts_in=timedelta(minutes=10), now=now)
    zoe = make.user(name="Zoë Ångström", email="zoe@example.com")
    db.session.add(Membership(group_id=group.id, user_id=zoe.id, typed_name="Z. from the list"))
    db.session.commit()
    with atomic():
        members.refresh_search_keys(Membership.user_id == zoe.id)
    reg = make.registration(meeting, zoe)

    result = checkin.check_in(meeting.id, reg.pass_token, organiser.id, now)
    assert result.status == "checked_in"
    assert _found(group, "angstrom") == []  # her own name: not in the stored key yet

    with atomic():
        assert engagement.record_check_ins(now) == 1
    assert _found(group, "angstrom") == ["Zoë Ångström"]
    assert _found(group, "zoe angstrom") == ["Zoë Ångström"]
    membership = db.session.scalar(select(Membership).where(Membership.user_id == zoe.id))
    assert membership.engaged_at == now

    with atomic():
        assert engagement.record_check_ins(now) == 0  # once
