"""The organisers' member and group pages: search, pages of 50, edit, remove, co-organisers,
group edit and archive, the add-member form's errors, the CSV link; and every new route
refused to anyone but the group's organisers, and without a CSRF token."""

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import Group, Membership, OutboxMessage, Registration
from eventtrack.models.vocabularies import Role
from eventtrack.services import groups, meetings
from eventtrack.transaction import atomic

from ..followup_scenarios import attend, past_meeting


@pytest.fixture
def owner(make, auth):
    owner = make.organiser(email="owner@example.com", name="Olivia Owner")
    auth.login(email="owner@example.com")
    return owner


@pytest.fixture
def group(make, owner):
    return make.group(owner, name="Product Circle")


def _add(group, name, email, now, company=""):
    with atomic():
        membership, _ = groups.add_member(group, name, email, company, now=now)
    return membership


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_search_finds_names_whatever_the_case_and_accents(client, group, now):
    _add(group, "Özlem Yılmaz", "oy@example.com", now)
    _add(group, "Ada Lovelace", "ada@example.com", now)
    for query in ("ozlem", "ÖZLEM", "yilmaz"):
        page = _text(client.get(f"/organise/groups/{group.id}", query_string={"q": query}))
        assert "Özlem Yılmaz" in page and "Ada Lovelace" not in page, query
        assert f"1–1 of 1 matching “{query}” (3 members)" in page
    nobody = _text(client.get(f"/organise/groups/{group.id}?q=zzz"))
    assert "Nobody matches “zzz”." in nobody and "Özlem" not in nobody


def test_members_come_fifty_a_page_with_counts(client, group, now):
    with atomic():
        for i in range(119):
            groups.add_member(group, f"Member {i:03}", f"m{i:03}@example.com", now=now)
    first = _text(client.get(f"/organise/groups/{group.id}"))
    assert "1–50 of 120" in first and "Page 1 of 3" in first
    assert first.count('data-label="Name"') == 50
    assert f'href="/organise/groups/{group.id}?page=2#members"' in first
    last = _text(client.get(f"/organise/groups/{group.id}?page=3"))
    assert "101–120 of 120" in last and last.count('data-label="Name"') == 20
    assert 'rel="next"' not in last and 'rel="prev"' in last
    searched = _text(client.get(f"/organise/groups/{group.id}?q=member&page=2"))
    assert "51–100 of 119 matching “member” (120 members)" in searched
    assert "q=member&amp;page=3" in searched
    assert client.get(f"/organise/groups/{group.id}?page=nope").status_code == 200


def test_group_page_queries_stay_the_same_whatever_the_size(
    client, make, owner, now, count_queries
):
    sizes = {}
    for size in (3, 180):
        group = make.group(owner, name=f"Size {size}")
        with atomic():
            for i in range(size):
                groups.add_member(group, f"P{size} {i}", f"p{size}-{i}@example.com", now=now)
        client.get(f"/organise/groups/{group.id}")  # warm the session and templates
        with count_queries() as counter:
            response = client.get(f"/organise/groups/{group.id}")
        sizes[size] = (counter.count, len(response.data))
    assert sizes[3][0] == sizes[180][0]
    assert sizes[180][1] < 100_000


def test_add_member_error_stays_next_to_the_field_with_what_was_typed(client, group):
    response = client.post(
        f"/organise/groups/{group.id}/members",
        data={"name": "Ada Lovelace", "email": "ada-at-example", "company": "Engines"},
    )
    page = _text(response)
    assert response.status_code == 422
    error = re.search(r'<p class="error" id="email-error">([^<]+)</p>', page)
    assert error and "email" in error.group(1).lower()
    assert 'value="Ada Lovelace"' in page and 'value="ada-at-example"' in page
    assert 'value="Engines"' in page and 'aria-invalid="true"' in page
    assert re.search(
        r'<input[^>]*autofocus[^>]*id="email"|<input[^>]*id="email"[^>]*autofocus', page
    )
    assert 'href="#add-member"' in page
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 1


def test_add_member_error_from_the_service_lands_on_its_field(client, group):
    # Fits the form's limit for an email, then the service refuses it: shown on the email field.
    response = client.post(
        f"/organise/groups/{group.id}/members",
        data={"name": "Ada", "email": "ada@localhost"},
    )
    page = _text(response)
    assert response.status_code == 422
    assert 'id="email-error"' in page and 'value="ada@localhost"' in page


def test_edit_the_typed_name_and_company(client, group, now):
    membership = _add(group, "Bob", "bob@example.com", now, company="Old Co")
    url = f"/organise/groups/{group.id}/members/{membership.user_id}"
    form = _text(client.get(url))
    assert 'value="Bob"' in form and 'value="Old Co"' in form
    saved = client.post(
        url, data={"name": "Róbert Smith", "company": "Ñandú"}, follow_redirects=True
    )
    assert "Saved." in _text(saved)
    page = _text(client.get(f"/organise/groups/{group.id}?q=nandu"))
    assert "Róbert Smith" in page and "Ñandú" in page and "1–1 of 1" in page
    empty = client.post(url, data={"name": "", "company": "Kept Co"})
    assert empty.status_code == 422 and 'id="name-error"' in _text(empty)
    assert 'value="Kept Co"' in _text(empty)


def test_remove_asks_first_says_history_stays_and_keeps_the_numbers(client, group, now):
    meeting = past_meeting(group, now)
    ada = attend(meeting, name="Ada Lovelace")
    before = meetings.counts(meeting)
    url = f"/organise/groups/{group.id}/members/{ada.id}/remove"
    confirm = _text(client.get(url))
    assert "Remove Ada Lovelace from Product Circle?" in confirm
    assert "Their history stays" in confirm and "check-ins" in confirm
    assert groups.membership_in(group, ada.id)  # asking removes nothing
    done = client.post(url, follow_redirects=True)
    assert "Ada Lovelace was removed from Product Circle." in _text(done)
    assert "Ada Lovelace" not in _text(client.get(f"/organise/groups/{group.id}"))
    assert meetings.counts(meeting) == before
    assert db.session.scalar(select(func.count()).where(Registration.user_id == ada.id)) == 1
    assert client.get(url).status_code == 404  # not a member any more


def test_co_organisers_and_the_last_organiser(client, auth, group, owner, make):
    kim = make.member(group, name="Kim")
    base = f"/organise/groups/{group.id}/members"
    alone = client.post(f"{base}/{owner.id}/take-organiser-role", follow_redirects=True)
    assert "only organiser of Product Circle" in _text(alone)
    left = client.post(f"{base}/{owner.id}/remove", follow_redirects=True)
    assert "only organiser of Product Circle" in _text(left)
    assert groups.membership_in(group, owner.id).role == Role.ORGANISER

    given = client.post(f"{base}/{kim.id}/give-organiser-role", follow_redirects=True)
    assert "Kim is now an organiser of Product Circle." in _text(given)
    auth.logout()
    auth.login_as(kim)
    assert client.get(f"/organise/groups/{group.id}").status_code == 200
    auth.logout()
    auth.login(email="owner@example.com")
    stepped = client.post(f"{base}/{owner.id}/take-organiser-role", follow_redirects=True)
    assert "You are no longer an organiser of Product Circle." in _text(stepped)
    assert client.get(f"/organise/groups/{group.id}").status_code == 404


def test_edit_group_and_bad_input(client, group):
    url = f"/organise/groups/{group.id}/edit"
    form = _text(client.get(url))
    assert 'value="Product Circle"' in form and "Archive this group" in form
    saved = client.post(
        url,
        data={"name": "Leeds Circle", "description": "Monthly", "timezone": "Europe/London"},
        follow_redirects=True,
    )
    assert "Group saved." in _text(saved)
    db.session.refresh(group)
    assert (group.name, group.default_timezone) == ("Leeds Circle", "Europe/London")
    bad = client.post(url, data={"name": "", "description": "kept", "timezone": "Europe/London"})
    assert bad.status_code == 422 and 'id="name-error"' in _text(bad) and "kept" in _text(bad)


def test_archive_moves_the_group_to_archived_and_back(client, group, make, owner):
    make.group(owner, name="Still running")
    client.post(f"/organise/groups/{group.id}/archive")
    home = _text(client.get("/organise/"))
    archived = home.index('id="archived-h"')
    link = f'href="/organise/groups/{group.id}"'
    assert home.index("Still running") < archived < home.index(link)
    page = _text(client.get(f"/organise/groups/{group.id}"))
    assert "Un-archive" in page and "New meeting" not in page
    client.post(f"/organise/groups/{group.id}/unarchive")
    home = _text(client.get("/organise/"))
    assert 'id="archived-h"' not in home and home.index(link) < home.index("Still running")


def test_members_csv(client, group, now):
    _add(group, "=cmd|' /C calc'!A0", "eve@example.com", now)
    page = _text(client.get(f"/organise/groups/{group.id}"))
    assert f'href="/organise/groups/{group.id}/members.csv"' in page
    response = client.get(f"/organise/groups/{group.id}/members.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:2] == ["name", "email"]
    assert ["'=cmd|' /C calc'!A0", "eve@example.com"] in [r[:2] for r in rows]


# --- who may use these routes -----------------------------------------------------------------

GROUP_ROUTES = [
    ("GET", "/organise/groups/{g}/edit", None),
    ("POST", "/organise/groups/{g}/edit", {"name": "Taken", "timezone": "UTC"}),
    ("POST", "/organise/groups/{g}/archive", None),
    ("POST", "/organise/groups/{g}/unarchive", None),
    ("GET", "/organise/groups/{g}/members.csv", None),
]
MEMBER_ROUTES = [
    ("GET", "/organise/groups/{g}/members/{u}", None),
    ("POST", "/organise/groups/{g}/members/{u}", {"name": "Renamed by Eve"}),
    ("POST", "/organise/groups/{g}/members/{u}/give-organiser-role", None),
    ("POST", "/organise/groups/{g}/members/{u}/take-organiser-role", None),
    ("GET", "/organise/groups/{g}/members/{u}/remove", None),
    ("POST", "/organise/groups/{g}/members/{u}/remove", None),
]
ROUTES = GROUP_ROUTES + MEMBER_ROUTES


def _state():
    """Everything these routes could change."""
    return (
        db.session.execute(select(Group.name, Group.default_timezone, Group.archived_at)).all(),
        db.session.execute(
            select(
                Membership.group_id, Membership.user_id, Membership.role, Membership.typed_name
            ).order_by(Membership.id)
        ).all(),
        db.session.scalar(select(func.count()).select_from(OutboxMessage)),
    )


@pytest.fixture
def two_groups(make):
    """Olivia's group with Kim (a second organiser) and Ada; Eve organises her own group."""
    olivia = make.organiser(email="olivia@example.com")
    group = make.group(olivia, name="Olivia's")
    kim, ada = make.member(group, name="Kim"), make.member(group, name="Ada")
    db.session.execute(
        Membership.__table__.update()
        .where(Membership.user_id == kim.id)
        .values(role=Role.ORGANISER)
    )
    eve = make.organiser(email="eve@example.com", name="Eve")
    eves = make.group(eve, name="Eve's")
    hal = make.member(eves, name="Hal")
    db.session.commit()
    return {"group": group, "ada": ada, "kim": kim, "eve": eve, "eves": eves, "hal": hal}


def _request(client, method, path, data):
    return client.open(path, method=method, data=data or {})


@pytest.mark.parametrize(("method", "path", "data"), ROUTES)
def test_another_organiser_gets_404_and_changes_nothing(
    client, auth, two_groups, method, path, data
):
    w = two_groups
    auth.login(email="eve@example.com")
    before = _state()
    for user in (w["ada"], w["kim"]):
        url = path.format(g=w["group"].id, u=user.id)
        assert _request(client, method, url, data).status_code == 404, url
    assert _state() == before


@pytest.mark.parametrize(("method", "path", "data"), MEMBER_ROUTES)
def test_a_member_of_another_group_is_404_in_my_own_group(
    client, auth, two_groups, method, path, data
):
    w = two_groups
    auth.login(email="eve@example.com")
    before = _state()
    # Eve's own group, with Olivia's member's id (and the other way round).
    for group, user in ((w["eves"], w["ada"]), (w["eves"], w["kim"])):
        url = path.format(g=group.id, u=user.id)
        assert _request(client, method, url, data).status_code == 404, url
    assert _state() == before


@pytest.mark.parametrize(("method", "path", "data"), ROUTES)
def test_a_plain_member_gets_404_and_changes_nothing(client, auth, two_groups, method, path, data):
    w = two_groups
    auth.login_as(w["ada"])
    before = _state()
    url = path.format(g=w["group"].id, u=w["kim"].id)
    assert _request(client, method, url, data).status_code == 404
    assert _state() == before


@pytest.mark.parametrize(("method", "path", "data"), ROUTES)
def test_signed_out_is_sent_to_sign_in(client, two_groups, method, path, data):
    w = two_groups
    before = _state()
    url = path.format(g=w["group"].id, u=w["ada"].id)
    response = _request(client, method, url, data)
    assert response.status_code in (302, 401) and "/login" in response.headers.get(
        "Location", "/login"
    )
    assert _state() == before


POSTS = [(p, d) for m, p, d in ROUTES if m == "POST"] + [
    ("/organise/groups/{g}/members", {"name": "Zed", "email": "zed@example.com"}),
]


@pytest.mark.parametrize(("path", "data"), POSTS)
def test_every_form_needs_its_csrf_token(app, client, auth, two_groups, path, data):
    w = two_groups
    auth.login(email="olivia@example.com")
    app.config["WTF_CSRF_ENABLED"] = True
    before = _state()
    url = path.format(g=w["group"].id, u=w["ada"].id)
    response = client.post(url, data=data or {})
    assert response.status_code == 400
    assert _state() == before
