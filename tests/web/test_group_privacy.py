"""Adding an address to a group reveals nothing of the account behind it, and tells its owner;
organisers never see a pass (issue #11): through the pages and the API."""

import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from eventtrack.extensions import db
from eventtrack.models import Membership, OutboxMessage, Registration, User
from eventtrack.services import accounts, checkin, members, registrations
from eventtrack.services.errors import DomainError
from eventtrack.transaction import atomic
from tests.factories import forged

REAL = ("Alan Turing", "Bletchley Park")


@pytest.fixture
def alan(make):
    """Alan has an account, and organiser A sees his profile: he takes part in A's group."""
    group_a = make.group(make.organiser(name="Anna A"), name="Group A")
    alan = make.member(group_a, name=REAL[0], email="alan@example.com", company=REAL[1])
    db.session.execute(update(Membership).values(engaged_at=alan.created_at))
    db.session.commit()
    return alan


@pytest.fixture
def bea(make, auth):
    """Organiser B, signed in, with a group of her own."""
    bea = make.organiser(email="bea@example.com", name="Bea B")
    auth.login(email="bea@example.com")
    return bea


@pytest.fixture
def group_b(make, bea):
    return make.group(bea, name="Group B")


@pytest.fixture
def api(client, bea, now):
    with atomic():
        token = accounts.new_api_token(bea, now)
    headers = {"Authorization": f"Bearer {token}"}

    class Api:
        def get(self, path):
            return client.get(path, headers=headers)

        def post(self, path, **kw):
            return client.post(path, headers=headers, **kw)

    return Api()


def _reveals_alan(data: bytes | str) -> bool:
    text = data if isinstance(data, str) else data.decode()
    return any(word in text for word in REAL)


def _add_alan(client, group_b):
    return client.post(
        f"/organise/groups/{group_b.id}/members",
        data={"name": "A. Nonymous", "email": "alan@example.com"},
        follow_redirects=True,
    )


def test_adding_an_existing_account_shows_only_what_was_typed_on_the_pages(
    client, alan, group_b, make, now
):
    added = _add_alan(client, group_b)
    assert b"A. Nonymous added." in added.data and not _reveals_alan(added.data)
    again = _add_alan(client, group_b)
    assert b"alan@example.com was already a member." in again.data
    assert not _reveals_alan(again.data)
    page = client.get(f"/organise/groups/{group_b.id}")
    assert b"A. Nonymous" in page.data and not _reveals_alan(page.data)

    meeting = make.meeting(group_b, now=now)
    form = client.get(f"/organise/meetings/{meeting.id}")
    # Offered to tick as typed, with the address.
    assert b"A. Nonymous \xc2\xb7 alan@example.com" in form.data and not _reveals_alan(form.data)
    registered = client.post(
        f"/organise/meetings/{meeting.id}/registrations",
        data={"user_ids": [alan.id]},
        follow_redirects=True,
    )
    assert b"A. Nonymous" in registered.data and not _reveals_alan(registered.data)
    reg = db.session.scalar(select(Registration))
    cancelled = client.post(f"/organise/registrations/{reg.id}/cancel", follow_redirects=True)
    assert b"A. Nonymous&#39;s registration cancelled; they are told by email." in cancelled.data
    assert not _reveals_alan(cancelled.data)


def test_adding_an_existing_account_through_the_api_answers_only_what_was_typed(
    api, alan, group_b, make, now
):
    body = {"name": "A. Nonymous", "email": "alan@example.com", "company": "Typed Ltd"}
    added = api.post(f"/api/v1/groups/{group_b.id}/members", json=body)
    assert added.status_code == 201
    # What was typed comes back; Alan's own profile does not.
    assert added.get_json()["name"] == "A. Nonymous" and added.get_json()["company"] == "Typed Ltd"
    again = api.post(f"/api/v1/groups/{group_b.id}/members", json=body)
    listing = api.get(f"/api/v1/groups/{group_b.id}/members")
    meeting = make.meeting(group_b, now=now)
    registered = api.post(
        f"/api/v1/meetings/{meeting.id}/registrations", json={"email": "alan@example.com"}
    )
    regs = api.get(f"/api/v1/meetings/{meeting.id}/registrations")
    assert registered.get_json()["name"] == "A. Nonymous"
    for response in (added, again, listing, registered, regs):
        assert response.status_code in (200, 201)
        assert "A. Nonymous" in response.get_data(as_text=True)
        assert not _reveals_alan(response.data)


@pytest.mark.parametrize("how", ["accept", "rsvp", "check_in"])
def test_once_alan_takes_part_organiser_b_sees_his_name(
    client, api, alan, bea, group_b, make, now, how
):
    _add_alan(client, group_b)
    membership = db.session.scalar(
        select(Membership).filter_by(group_id=group_b.id, user_id=alan.id)
    )
    meeting = make.meeting(group_b, starts_in=timedelta(minutes=10), now=now)
    if how == "accept":
        token = members.notice_token(membership)
        assert client.post(f"/membership/{token}/accept").status_code == 200
    elif how == "rsvp":
        # What the member's RSVP (attendee.rsvp) calls: registrations.register(by_member=True).
        registrations.register(meeting, alan, now, by_member=True)
    else:
        with atomic():  # a check-in is a transaction of its own
            reg, _ = registrations.register(meeting, alan, now)
        checkin.check_in_registration(reg, bea, now)
    db.session.commit()
    page = client.get(f"/organise/groups/{group_b.id}")
    assert all(word.encode() in page.data for word in REAL)
    [seen] = [
        m
        for m in api.get(f"/api/v1/groups/{group_b.id}/members").get_json()
        if m["email"] == "alan@example.com"
    ]
    assert (seen["name"], seen["company"]) == REAL


def _notice_links(mail: OutboxMessage) -> tuple[str, str]:
    leave = re.search(r"http://eventtrack\.test(/membership/\S+\?action=leave)", mail.body_text)
    accept = re.search(r"http://eventtrack\.test(/membership/\S+\?action=accept)", mail.body_text)
    return leave.group(1), accept.group(1)


def test_notice_mail_links_show_the_group_then_leave(client, alan, group_b):
    _add_alan(client, group_b)
    [mail] = db.session.scalars(select(OutboxMessage)).all()
    assert mail.recipient == "alan@example.com" and mail.subject.startswith("Bea B added you")
    leave, accept = _notice_links(mail)
    page = client.get(leave)
    assert page.status_code == 200 and b"Group B" in page.data
    assert b"Leave this group" in page.data and b"Show my profile" in page.data
    assert client.get(accept).status_code == 200
    token = leave.split("/")[2].split("?")[0]
    left = client.post(f"/membership/{token}/leave")
    assert left.status_code == 200 and b"you left Group B" in left.data
    assert (
        db.session.scalar(
            select(func.count()).where(
                Membership.group_id == group_b.id, Membership.user_id == alan.id
            )
        )
        == 0
    )
    assert client.get(leave).status_code == 404  # the membership is gone: so is the link


def test_tampered_or_someone_elses_token_cannot_remove_a_member(client, alan, group_b, make):
    _add_alan(client, group_b)
    client.post(
        f"/organise/groups/{group_b.id}/members",
        data={"name": "Bob", "email": "bob@example.com"},
    )
    alan_m, bob_m = (
        db.session.scalar(select(Membership).filter_by(group_id=group_b.id, user_id=u))
        for u in (alan.id, accounts.user_by_email("bob@example.com").id)
    )
    bob_token = members.notice_token(bob_m)
    tampered = forged(bob_token)
    for path in (f"/membership/{tampered}", "/membership/not-a-token"):
        assert client.get(path).status_code == 404
        assert client.post(path + "/leave").status_code == 404
        assert client.post(path + "/accept").status_code == 404
    # Bob's own token acts on Bob's membership only.
    assert client.post(f"/membership/{bob_token}/leave").status_code == 200
    assert db.session.get(Membership, alan_m.id) is not None
    assert db.session.get(Membership, bob_m.id) is None


def test_the_last_organiser_cannot_leave_by_the_link(client, bea, group_b):
    [own] = group_b.memberships
    token = members.notice_token(own)
    response = client.post(f"/membership/{token}/leave")
    assert response.status_code == 409
    assert b"only organiser of Group B" in response.data
    assert db.session.get(Membership, own.id) is not None


def test_resend_pass_mails_the_member_and_no_page_or_answer_shows_a_pass(
    client, api, group_b, make, now
):
    meeting = make.meeting(group_b, now=now)
    person = make.member(group_b, name="Ada")
    reg, _ = registrations.register(meeting, person, now)
    token, person_id = reg.pass_token, person.id
    response = client.post(f"/organise/registrations/{reg.id}/resend-pass", follow_redirects=True)
    assert b"The pass is on its way to" in response.data
    kinds = db.session.scalars(select(OutboxMessage.kind)).all()
    assert kinds == ["pass", "pass"]
    seen = [
        client.get(f"/organise/meetings/{meeting.id}").data.decode(),
        response.data.decode(),
        api.get(f"/api/v1/meetings/{meeting.id}/registrations").get_data(as_text=True),
        json.dumps(
            api.post(
                f"/api/v1/meetings/{meeting.id}/registrations", json={"user_id": person_id}
            ).get_json()
        ),
    ]
    for text in seen:
        assert token not in text and "/p/" not in text
    assert "Resend pass" in seen[0]


def test_resend_pass_is_404_for_another_organiser_and_for_a_member(client, auth, make, now):
    meeting = make.meeting(make.group(make.organiser()), now=now)
    person = make.member(meeting.group)
    reg = make.registration(meeting, person)
    make.organiser(email="other@example.com")
    for sign_in in (lambda: auth.login(email="other@example.com"), lambda: auth.login_as(person)):
        auth.logout()
        sign_in()
        assert client.post(f"/organise/registrations/{reg.id}/resend-pass").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_meeting_page_shows_each_pass_mails_state(client, group_b, make, now):
    meeting = make.meeting(group_b, now=now)
    sent, failed, queued = (
        registrations.register(meeting, make.member(group_b), now)[0] for _ in range(3)
    )
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.user_id == sent.user_id)
        .values(status="sent", sent_at=now)
    )
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.user_id == failed.user_id)
        .values(status="failed", last_error="550 5.1.1 mailbox unknown")
    )
    db.session.commit()
    page = client.get(f"/organise/meetings/{meeting.id}").data
    assert page.count(b"Queued") == 1 and b"Sent" in page
    assert b"Failed" in page and b"550 5.1.1 mailbox unknown" in page
    assert queued.pass_token.encode() not in page


def test_the_door_shows_and_matches_only_what_the_organisers_may_see(client, make, auth, now):
    """Finding 3 at the door: the manual list, its search and the live feed."""
    from datetime import timedelta

    from eventtrack.services import groups

    other_group = make.group(name="Alan's own circle")
    alan = make.member(
        other_group, name="Alan Turing", email="alan@example.com", company="Bletchley"
    )
    stranger = make.organiser()
    group = make.group(stranger, name="Stranger's group")
    with atomic():
        groups.add_member(group, "A. Nonymous", "alan@example.com", added_by=stranger, now=now)
    meeting = make.meeting(group, now=now, starts_in=timedelta(minutes=10))
    make.registration(meeting, alan)
    auth.login_as(stranger)

    page = client.get(f"/door/m/{meeting.id}/manual").get_data(as_text=True)
    assert "A. Nonymous" in page and "Alan Turing" not in page and "Bletchley" not in page
    for query in ("turing", "bletchley"):
        found = client.get(f"/door/m/{meeting.id}/manual?q={query}&partial=1")
        assert "A. Nonymous" not in found.get_data(as_text=True)
    assert "A. Nonymous" in client.get(
        f"/door/m/{meeting.id}/manual?q=nonymous&partial=1"
    ).get_data(as_text=True)


# --- an import is all or nothing, its notice mails included ------------------------------


def _rows_in_database() -> tuple[int, ...]:
    """Users, memberships and queued mails, counted on a connection of its own."""
    with db.engine.connect() as connection:
        return tuple(
            connection.scalar(select(func.count()).select_from(model.__table__))
            for model in (User, Membership, OutboxMessage)
        )


def _import(client, group, rows: list[str]):
    return client.post(
        f"/organise/groups/{group.id}/members/import",
        data={"file": (io.BytesIO("\n".join(rows).encode()), "members.csv")},
        content_type="multipart/form-data",
    )


TEN_ROWS = [f"Person {i},person{i}@example.com,Firm {i}" for i in range(1, 11)]


def test_an_import_whose_tenth_row_is_invalid_adds_and_tells_no_one(client, alan, group_b):
    before = _rows_in_database()
    response = _import(client, group_b, [*TEN_ROWS[:9], "Person 10,person10-at-example.com"])
    assert response.status_code == 422
    assert b"Line 10" in response.data
    assert _rows_in_database() == before


def test_an_import_failing_while_adding_its_tenth_row_adds_and_tells_no_one(
    client, alan, group_b, monkeypatch
):
    """The rows pass their checks and the tenth fails once nine are in: the request's one
    transaction takes all of it back, the nine notice mails with it."""
    real_notice, noticed = members.queue_notice, []

    def tenth_fails(membership, added_by, now):
        noticed.append(membership.user.email)
        if len(noticed) == 10:
            raise DomainError("refused", "The tenth member could not be added.")
        real_notice(membership, added_by, now)

    monkeypatch.setattr(members, "queue_notice", tenth_fails)
    before = _rows_in_database()
    response = _import(client, group_b, [*TEN_ROWS[:9], "Alan,alan@example.com"])
    assert response.status_code == 409
    assert b"The tenth member could not be added." in response.data
    assert len(noticed) == 10
    assert _rows_in_database() == before
    assert [view.user.email for view in members.member_views(group_b)] == ["bea@example.com"]
