"""Who met whom through the test client: attendee pages, the connect URL, organiser pages."""

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import Connection, LoginLink
from eventtrack.models.connect import ConnectCode
from eventtrack.services import accounts, connections
from eventtrack.transaction import atomic
from tests.qr import decode

NOTE = "ask about her Lisbon trip; send the pricing deck"


@pytest.fixture
def event(make, now):
    """A meeting on now; Ada and Grace checked in; an organiser who runs the group."""
    organiser = make.organiser(email="organiser@example.com")
    group = make.group(organiser)
    meeting = make.meeting(group, starts_in=timedelta(minutes=-30), title="Pricing night", now=now)
    ada = make.member(
        group,
        name="Ada Lovelace",
        email="ada@example.com",
        headline="Founder",
        company="Analytical Engines",
        asks="intros to investors",
        offers="compiler advice",
        phone="+49 111",
    )
    grace = make.member(
        group,
        name="Grace Hopper",
        email="grace@example.com",
        offers="intros to investors",
        phone="+49 222",
    )
    ada_reg = make.registration(meeting, ada, checked_in_at=now)
    grace_reg = make.registration(meeting, grace, checked_in_at=now)

    class Event:
        pass

    e = Event()
    e.meeting, e.organiser, e.ada, e.grace, e.ada_reg, e.grace_reg = (
        meeting,
        organiser,
        ada,
        grace,
        ada_reg,
        grace_reg,
    )
    with atomic():
        e.ada_code = connections.code_for(ada_reg, now).token
        e.grace_code = connections.code_for(grace_reg, now).token
    return e


def _count():
    return db.session.scalar(select(func.count()).select_from(Connection))


def _text(response):
    return response.get_data(as_text=True)


# --- the event page ------------------------------------------------------------------------


def test_event_page_needs_sign_in(client, event):
    response = client.get(f"/e/{event.meeting.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_event_page_is_404_without_a_registration(client, auth, make, event):
    auth.login_as(make.member(event.meeting.group))
    assert client.get(f"/e/{event.meeting.id}").status_code == 404
    assert client.get("/e/999999").status_code == 404


def test_event_page_shows_my_code_suggestions_and_people_link(client, auth, event):
    auth.login_as(event.ada)
    page = _text(client.get(f"/e/{event.meeting.id}"))
    assert f"/c/{event.ada_code}/qr.svg" in page
    assert event.ada_reg.pass_token not in page  # the connect code is not the pass
    assert "Who to meet next" in page
    assert "Grace offers intros to investors — you asked for that" in page
    assert f"/e/{event.meeting.id}/here" in page


def test_before_check_in_the_event_page_has_no_code(client, auth, make, event):
    late = make.member(event.meeting.group)
    reg = make.registration(event.meeting, late)
    auth.login_as(late)
    page = _text(client.get(f"/e/{event.meeting.id}"))
    assert "Check in at the door" in page and "/qr.svg" not in page
    assert f"/p/{reg.pass_token}" in page
    assert db.session.scalar(select(func.count()).select_from(ConnectCode)) == 2


def test_connect_qr_decodes_to_the_connect_url_and_is_cached(client, event, tmp_path):
    response = client.get(f"/c/{event.ada_code}/qr.svg")
    assert response.mimetype == "image/svg+xml"
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "immutable" in response.headers["Cache-Control"]
    assert decode(response.data, tmp_path) == f"http://eventtrack.test/c/{event.ada_code}"
    etag = response.headers["ETag"]
    again = client.get(f"/c/{event.ada_code}/qr.svg", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert client.get("/c/" + "x" * 24 + "/qr.svg").status_code == 404


# --- the connect URL -----------------------------------------------------------------------


def test_connect_page_shows_the_card_and_get_changes_nothing(client, auth, event):
    auth.login_as(event.grace)
    page = _text(client.get(f"/c/{event.ada_code}"))
    for text in ("Ada Lovelace", "Founder", "Analytical Engines", "intros to investors"):
        assert text in page
    assert "compiler advice" in page and ">We met</button>" in page
    assert "ada@example.com" not in page and "+49 111" not in page  # not connected yet
    assert _count() == 0


def test_we_met_records_the_connection_and_shows_it_to_both(client, auth, event):
    auth.login_as(event.grace)
    response = client.post(f"/c/{event.ada_code}", data={"note": NOTE})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/e/{event.meeting.id}#met")
    conn = db.session.scalar(select(Connection))
    assert conn.how == "scan" and conn.created_by_id == event.grace.id
    grace_page = _text(client.get(f"/e/{event.meeting.id}"))
    assert "Saved: you met Ada Lovelace." in grace_page
    assert "Ada Lovelace" in grace_page.split("People I met tonight")[1]
    assert NOTE.replace("'", "&#39;") in grace_page
    auth.login_as(event.ada)
    ada_page = _text(client.get(f"/e/{event.meeting.id}"))
    assert "Grace Hopper" in ada_page.split("People I met tonight")[1]
    assert "Lisbon trip" not in ada_page  # Grace's note is Grace's alone


def test_the_note_never_reaches_the_other_side_the_organiser_or_the_api(client, auth, event, now):
    auth.login_as(event.grace)
    client.post(f"/c/{event.ada_code}", data={"note": NOTE})
    auth.login_as(event.ada)
    for path in (
        f"/e/{event.meeting.id}",
        f"/e/{event.meeting.id}/here",
        f"/c/{event.grace_code}",
        f"/c/{event.ada_code}",
    ):
        assert "Lisbon trip" not in _text(client.get(path)), path
    auth.login()
    for path in (
        f"/organise/meetings/{event.meeting.id}/connections",
        f"/organise/meetings/{event.meeting.id}/rounds",
        f"/organise/meetings/{event.meeting.id}",
    ):
        page = client.get(path)
        assert page.status_code == 200 and "Lisbon trip" not in _text(page), path
    with atomic():
        token = accounts.new_api_token(event.organiser, now)
    api = client.get(
        f"/api/v1/meetings/{event.meeting.id}/connections",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 200 and "Lisbon trip" not in _text(api)
    assert "note" not in _text(api)


def test_scanning_again_updates_only_my_note(client, auth, event):
    auth.login_as(event.grace)
    client.post(f"/c/{event.ada_code}", data={"note": "first"})
    auth.login_as(event.ada)
    client.post(f"/c/{event.grace_code}", data={"note": "Ada's view"})
    auth.login_as(event.grace)
    response = client.post(f"/c/{event.ada_code}", data={"note": "second"}, follow_redirects=True)
    assert "You had already met Ada Lovelace." in _text(response)
    conn = db.session.scalar(select(Connection))
    notes = {conn.user_a_id: conn.note_a, conn.user_b_id: conn.note_b}
    assert notes == {event.grace.id: "second", event.ada.id: "Ada's view"}
    assert _count() == 1


def test_scanning_my_own_code_says_so_and_records_nothing(client, auth, event):
    auth.login_as(event.ada)
    page = _text(client.get(f"/c/{event.ada_code}"))
    assert "That&#39;s your own code" in page and ">We met</button>" not in page
    response = client.post(f"/c/{event.ada_code}", data={"note": "me"})
    assert response.status_code == 409 and "your own code" in _text(response)
    assert _count() == 0


def test_code_of_another_meeting_says_so_and_records_nothing(client, auth, make, event, now):
    other = make.meeting(
        event.meeting.group, title="Other night", starts_in=timedelta(minutes=-5), now=now
    )
    linus = make.member(event.meeting.group, name="Linus Torvalds")
    with atomic():
        code = connections.code_for(make.registration(other, linus, checked_in_at=now), now).token
    auth.login_as(event.ada)
    page = _text(client.get(f"/c/{code}"))
    assert "This code is for “Other night”" in page
    assert "Linus Torvalds" not in page  # not at my meeting: no card either
    response = client.post(f"/c/{code}", data={"note": "x"})
    assert response.status_code == 409 and "Only people at the same meeting" in _text(response)
    assert _count() == 0


@pytest.mark.parametrize("token", ["abc", "x" * 25, "not%20a%20code"])
def test_malformed_code_gets_a_clear_message(client, auth, event, token):
    auth.login_as(event.ada)
    page = client.get(f"/c/{token}")
    assert page.status_code == 422 and "not an eventtrack connect code" in _text(page)
    assert client.post(f"/c/{token}", data={"note": "x"}).status_code == 422
    assert _count() == 0


def test_unknown_code_and_a_pass_token_get_a_clear_message(client, auth, event):
    auth.login_as(event.grace)
    for token in ("A" * 24, event.ada_reg.pass_token):
        page = client.get(f"/c/{token}")
        assert page.status_code == 404 and "We don&#39;t know this connect code" in _text(page)
        assert client.post(f"/c/{token}", data={}).status_code == 404
    assert _count() == 0


def test_not_both_checked_in_gets_a_clear_message(client, auth, make, event):
    late = make.member(event.meeting.group, name="Late Larry")
    make.registration(event.meeting, late)
    auth.login_as(late)
    page = _text(client.get(f"/c/{event.ada_code}"))
    assert "You are not checked in at “Pricing night”" in page
    assert "Ada Lovelace" in page  # registered for this meeting: may see the card
    assert client.post(f"/c/{event.ada_code}", data={}).status_code == 409
    assert _count() == 0


def test_signed_out_visitor_is_offered_sign_in_that_comes_back(client, event, now):
    page = _text(client.get(f"/c/{event.ada_code}"))
    assert "Sign in to record that you met" in page
    assert "Ada Lovelace" not in page  # nothing personal before sign-in
    assert f"/login/link?next=/c/{event.ada_code}" in page
    assert client.post(f"/c/{event.ada_code}", data={}).status_code == 302
    assert _count() == 0
    client.post("/login/link", data={"email": "grace@example.com", "next": f"/c/{event.ada_code}"})
    assert db.session.scalar(select(LoginLink.next_url)) == f"/c/{event.ada_code}"


def test_too_long_note_is_refused_with_the_form_kept(client, auth, event):
    auth.login_as(event.grace)
    response = client.post(f"/c/{event.ada_code}", data={"note": "x" * 2001})
    assert response.status_code == 422 and ">We met</button>" in _text(response)
    assert _count() == 0


# --- people here, notes, delete, contact details --------------------------------------------


def test_people_here_is_searchable_with_we_met_per_person(client, auth, make, event, now):
    alan = make.member(event.meeting.group, name="Alan Turing", company="Bletchley Park")
    make.registration(event.meeting, alan, checked_in_at=now)
    make.registration(event.meeting, make.member(event.meeting.group, name="Absent Abe"))
    auth.login_as(event.ada)
    page = _text(client.get(f"/e/{event.meeting.id}/here"))
    assert "Alan Turing" in page and "Grace Hopper" in page and "Absent Abe" not in page
    page = _text(client.get(f"/e/{event.meeting.id}/here?q=bletchley"))
    assert "Alan Turing" in page and "Grace Hopper" not in page
    response = client.post(f"/e/{event.meeting.id}/met/{alan.id}", data={"q": "bletchley"})
    assert response.headers["Location"].endswith(f"/e/{event.meeting.id}/here?q=bletchley")
    assert db.session.scalar(select(Connection.how)) == "list"
    page = _text(client.get(f"/e/{event.meeting.id}/here?q=bletchley"))
    assert ">Met</span>" in page


def test_people_here_needs_me_checked_in(client, auth, make, event):
    late = make.member(event.meeting.group)
    make.registration(event.meeting, late)
    auth.login_as(late)
    page = _text(client.get(f"/e/{event.meeting.id}/here"))
    assert "Check in at the door to see who is here" in page and "Grace Hopper" not in page
    response = client.post(f"/e/{event.meeting.id}/met/{event.grace.id}", data={})
    assert response.status_code == 302 and _count() == 0


def test_edit_my_note_later_and_nobody_else_can(client, auth, make, event, now):
    with atomic():
        conn, _ = connections.record_connection(
            event.meeting, event.ada, event.grace, "list", "", now
        )
    auth.login_as(event.ada)
    client.post(f"/connections/{conn.id}/note", data={"note": "Follow up on Monday"})
    assert "Follow up on Monday" in _text(client.get(f"/e/{event.meeting.id}"))
    auth.login_as(make.member(event.meeting.group))
    assert client.post(f"/connections/{conn.id}/note", data={"note": "hijack"}).status_code == 404
    db.session.refresh(conn)
    ada_side = conn.note_a if conn.user_a_id == event.ada.id else conn.note_b
    assert ada_side == "Follow up on Monday" and "hijack" not in (conn.note_a + conn.note_b)


def test_the_other_side_can_delete_for_both(client, auth, make, event):
    auth.login_as(event.grace)
    client.post(f"/c/{event.ada_code}", data={})
    conn_id = db.session.scalar(select(Connection.id))
    auth.login_as(make.member(event.meeting.group))
    assert client.post(f"/connections/{conn_id}/delete").status_code == 404
    auth.login_as(event.ada)
    response = client.post(f"/connections/{conn_id}/delete", follow_redirects=True)
    assert "Deleted, for both of you." in _text(response)
    assert _count() == 0
    auth.login_as(event.grace)
    page = _text(client.get(f"/e/{event.meeting.id}"))
    assert "Grace Hopper" not in page and "Ada Lovelace" not in page.split("tonight")[1]


def test_contact_details_only_with_connection_and_consent_hidden_once_withdrawn(
    client, auth, event, now
):
    event.ada.share_contact = True
    db.session.commit()
    auth.login_as(event.grace)
    assert "ada@example.com" not in _text(client.get(f"/c/{event.ada_code}"))
    client.post(f"/c/{event.ada_code}", data={})
    assert "ada@example.com" in _text(client.get(f"/e/{event.meeting.id}"))
    assert "+49 111" in _text(client.get(f"/c/{event.ada_code}"))
    auth.login_as(event.ada)  # Grace never consented
    page = _text(client.get(f"/e/{event.meeting.id}"))
    assert "grace@example.com" not in page and "+49 222" not in page
    client.post("/me", data={"name": "Ada Lovelace", "followup_emails": "y"})  # unticks share
    auth.login_as(event.grace)
    assert "ada@example.com" not in _text(client.get(f"/e/{event.meeting.id}"))
    assert "+49 111" not in _text(client.get(f"/c/{event.ada_code}"))


def test_user_text_is_escaped(client, auth, make, event, now):
    event.ada.name = "<script>alert(1)</script>"
    db.session.commit()
    auth.login_as(event.grace)
    page = _text(client.get(f"/c/{event.ada_code}"))
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_connect_page_is_light(client, auth, event):
    auth.login_as(event.grace)
    html = client.get(f"/c/{event.ada_code}").data
    css = b""
    for path in ("/static/css/app.css", "/static/css/connect.css"):
        with client.get(path) as response:
            assert response.status_code == 200
            css += response.data
    assert len(html) + len(css) < 30_000
    assert b"<script" not in html


# --- organiser pages -----------------------------------------------------------------------


def test_organiser_pages_are_404_for_other_organisers_and_members(client, auth, make, event):
    other = make.organiser(email="other@example.com")
    make.group(other)
    auth.login("other@example.com")
    for path in ("connections", "rounds"):
        assert client.get(f"/organise/meetings/{event.meeting.id}/{path}").status_code == 404
    auth.login_as(event.ada)
    assert client.get(f"/organise/meetings/{event.meeting.id}/connections").status_code == 404


def test_organiser_summary_counts_and_lonely_newcomers(client, auth, make, event, now):
    alan = make.member(event.meeting.group, name="Alan Turing")
    make.registration(event.meeting, alan, checked_in_at=now)
    with atomic():
        connections.record_connection(event.meeting, event.ada, event.grace, "scan", "secret", now)
    auth.login()
    page = _text(client.get(f"/organise/meetings/{event.meeting.id}/connections"))
    assert "secret" not in page
    lonely = page.split('id="newcomers-alone"')[1].split("</ul>")[0]
    assert "Alan Turing" in lonely and "Ada" not in lonely
    assert "Ada Lovelace — Grace Hopper" in page or "Grace Hopper — Ada Lovelace" in page


def test_organiser_rounds_typed_in(client, auth, make, event, now):
    alan = make.member(event.meeting.group, name="Alan Turing", email="alan@example.com")
    make.registration(event.meeting, alan, checked_in_at=now)
    auth.login()
    rows = "1,T1,Ada Lovelace\n1,T1,Grace Hopper\n1,T1,alan@example.com\n"
    response = client.post(f"/organise/meetings/{event.meeting.id}/rounds", data={"rows": rows})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/organise/meetings/{event.meeting.id}/connections"
    )
    assert _count() == 3
    assert set(db.session.scalars(select(Connection.how))) == {"organiser_round"}


def test_organiser_rounds_uploaded_csv_with_errors_records_nothing(client, auth, event):
    auth.login()
    data = {"file": (io.BytesIO(b"round,table,name\n1,A,Ada Lovelace\n1,A,Nobody\n"), "r.csv")}
    response = client.post(
        f"/organise/meetings/{event.meeting.id}/rounds",
        data=data,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Line 3: nobody called &#39;Nobody&#39;" in _text(response)
    assert _count() == 0
    good = {"file": (io.BytesIO(b"1,A,Ada Lovelace\n1,A,Grace Hopper\n"), "r.csv")}
    response = client.post(
        f"/organise/meetings/{event.meeting.id}/rounds",
        data=good,
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and _count() == 1
