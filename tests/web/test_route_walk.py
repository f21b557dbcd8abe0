"""Every route of the app, walked against the trust model of issue #11 (DESIGN.md, "Trust model").

``ROUTES`` says, for every endpoint in ``app.url_map``, who may reach it and why; a new route
fails ``test_every_endpoint_is_classified`` until someone classifies it. The walks then ask each
route, with the ids of real objects (so a refusal is never just "no such id"), and with a body
the rightful actor succeeds with (``test_the_rightful_actor_gets_through`` keeps both honest):

- anonymous: refused (sign-in page, 401 for the API, or 404) unless public or token-keyed;
- another group's organiser, a member who does not own the object, and a browser holding the
  pass of *another* meeting of the same group: 404 (the pass holder may instead be sent to
  sign in); a pass of the meeting itself opens no organiser page and nobody else's objects,
  and a pass remembered past PASS_LINK_DAYS opens nothing;
- an API token of another organiser, or of a plain member: 404;
- a made-up token in any token-keyed URL: refused.

Every refusal also leaves every row of every table as it was.
``test_takeover_of_issue_11_takes_nothing_over`` replays the reported takeover step by step.
"""

import io
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from eventtrack import create_app
from eventtrack.extensions import db
from eventtrack.models import Connection, Group, OutboxMessage, Registration, User
from eventtrack.models.checkin import CheckinEvent
from eventtrack.models.followup import Goal
from eventtrack.web.actor import PASSES
from tests import factories

from ..factories import PASSWORD
from ..followup_scenarios import attend, meet, past_meeting

PUBLIC = "public"  # anyone: nothing behind it but what it shows everyone (or a mailed link)
TOKEN = "token"  # the unguessable token in the URL is the capability, and only that
MEMBER_AT_MEETING = "member at meeting"  # signed-in member, or that meeting's pass holder
SIGNED_IN = "signed in"  # a real sign-in (password or one-time emailed link)
ORGANISER = "organiser"  # signed in, and organises the object's group
API = "api"  # Authorization: Bearer <token>; the token's user must organise the object

ROUTES: dict[str, tuple[str, str]] = {
    # --- public -------------------------------------------------------------------------
    "static": (PUBLIC, "stylesheets, scripts and images: the same for everyone"),
    "healthz": (PUBLIC, "liveness for the load balancer; says only 'ok'"),
    "readyz": (PUBLIC, "readiness: database reachable and migrated; no data"),
    "api-docs.openapi_json": (PUBLIC, "the API's description, no data"),
    "attendee.home": (PUBLIC, "the landing page; a signed-in user's own dashboard"),
    "auth.login": (PUBLIC, "the password form"),
    "auth.request_link": (PUBLIC, "asks for a sign-in link; the link goes to the inbox only"),
    "auth.login_link": (PUBLIC, "one-time link mailed to the inbox: holding it is the inbox"),
    "auth.register": (PUBLIC, "sign-up form; the confirmation goes to the address first"),
    "auth.confirm_signup": (PUBLIC, "one-time sign-up link mailed to the address it proves"),
    "attendee.unsubscribe": (PUBLIC, "signed link in mail to that inbox: stops follow-up mail"),
    "membership.show": (PUBLIC, "signed link mailed to the added member: their membership"),
    "membership.accept": (PUBLIC, "signed link mailed to the added member: show my profile"),
    "membership.leave": (PUBLIC, "signed link mailed to the added member: leave the group"),
    "door.attendee_scanner": (PUBLIC, "a camera page for phones; no data of any meeting"),
    # --- the token is the capability -----------------------------------------------------
    "attendee.pass_page": (TOKEN, "pass token: that registration's pass; remembers the pass"),
    "attendee.pass_qr": (TOKEN, "pass token: the QR image of that pass"),
    "attendee.pass_ics": (TOKEN, "pass token: the calendar file of that meeting"),
    "attendee.pass_followups": (TOKEN, "pass token: that meeting's follow-up list, via /f/"),
    "attendee.pass_sign_in_link": (TOKEN, "pass token: mails a sign-in link to its own inbox"),
    "connect.card": (TOKEN, "connect code: that attendee's card, to people at the meeting"),
    "connect.we_met": (TOKEN, "connect code: 'we met', for whoever acts at that meeting"),
    "connect.code_qr": (TOKEN, "connect code: its QR image"),
    "door.self_checkin": (TOKEN, "kiosk/poster code: self check-in at that meeting only"),
    "invite.open": (TOKEN, "invite token: that meeting's title and time; mail only to a member"),
    # --- the member acting at one meeting: signed in, or holding that meeting's pass -------
    "connect.event": (MEMBER_AT_MEETING, "my connect code, suggestions and people I met"),
    "connect.here": (MEMBER_AT_MEETING, "who is checked in at that meeting"),
    "connect.met_from_list": (MEMBER_AT_MEETING, "record meeting someone checked in there"),
    "connect.edit_note": (MEMBER_AT_MEETING, "my private note on my connection"),
    "connect.delete": (MEMBER_AT_MEETING, "delete my connection"),
    "followups.meeting_list": (MEMBER_AT_MEETING, "my follow-up list of that meeting"),
    "followups.contacts_vcf": (MEMBER_AT_MEETING, "contacts shared with me at that meeting"),
    "followups.set_state": (MEMBER_AT_MEETING, "done/snooze for someone I met there"),
    "followups.set_promise": (MEMBER_AT_MEETING, "what I promised someone I met there"),
    "followups.set_goal": (MEMBER_AT_MEETING, "my goal after that meeting"),
    "followups.answer_goal": (MEMBER_AT_MEETING, "how my earlier goal in that group went"),
    # --- a real sign-in ---------------------------------------------------------------------
    "attendee.profile": (SIGNED_IN, "my profile and consents: never through a pass"),
    "attendee.record": (SIGNED_IN, "my own record: meetings, people met, follow-ups, goals"),
    "attendee.meeting": (SIGNED_IN, "a meeting of a group I belong to, to RSVP"),
    "attendee.rsvp": (SIGNED_IN, "RSVP to a meeting of a group I belong to"),
    "auth.logout": (SIGNED_IN, "ends my server-side session"),
    "organiser.home": (SIGNED_IN, "the groups I organise (none: an empty page)"),
    "organiser.new_group": (SIGNED_IN, "create a group, which I then organise"),
    # --- organisers of the object's group ---------------------------------------------------
    "organiser.group": (ORGANISER, "group page: members as typed, meetings"),
    "organiser.add_member": (ORGANISER, "add a member by email"),
    "organiser.import_members": (ORGANISER, "add members from a CSV file"),
    "organiser.new_meeting": (ORGANISER, "plan a meeting of the group"),
    "organiser.meeting": (ORGANISER, "meeting page: registrations, never pass tokens"),
    "organiser.edit_meeting": (ORGANISER, "change the meeting"),
    "organiser.cancel_meeting": (ORGANISER, "cancel the meeting"),
    "organiser.register_members": (ORGANISER, "register members; passes go by mail"),
    "organiser.cancel_registration": (ORGANISER, "cancel someone's registration"),
    "organiser.resend_pass": (ORGANISER, "mail the pass to the member again"),
    "organiser.edit_group": (ORGANISER, "change the group's name, description, timezone"),
    "organiser.archive_group": (ORGANISER, "archive the group (history kept)"),
    "organiser.unarchive_group": (ORGANISER, "bring an archived group back"),
    "organiser.edit_member": (ORGANISER, "change what the organisers typed for a member"),
    "organiser.remove_member": (ORGANISER, "remove a member from the group (history kept)"),
    "organiser.give_organiser_role": (ORGANISER, "make a member a co-organiser"),
    "organiser.take_organiser_role": (ORGANISER, "take the organiser role back (never the last)"),
    "organiser.members_csv": (ORGANISER, "the member list as CSV, as organisers see it"),
    "organiser.uncancel_meeting": (
        ORGANISER,
        "put a cancelled meeting back on; mails the registered",
    ),
    "organiser.delete_meeting": (ORGANISER, "delete a meeting nobody ever registered for"),
    "organiser.register_everyone": (ORGANISER, "register every member; passes go by mail"),
    "organiser.announce_meeting": (ORGANISER, "mail the meeting's invitation to every member"),
    "organiser.message_attendees": (ORGANISER, "mail the registered, checked in or no-shows"),
    "organiser.registrations_csv": (ORGANISER, "registrations with attendance as CSV"),
    "organiser.meeting_report": (ORGANISER, "how the meeting went: figures, names, no notes"),
    "organiser.meeting_network_svg": (ORGANISER, "who met whom as a picture, with names"),
    "organiser.group_report": (ORGANISER, "attendance, retention, who is drifting away"),
    "organiser.message_drifting": (ORGANISER, "mail the members drifting away"),
    "connect.organiser_summary": (ORGANISER, "who met whom at the meeting (never notes)"),
    "connect.rounds": (ORGANISER, "record table rounds as connections"),
    "followups.organiser_summary": (ORGANISER, "follow-up counts, never contents"),
    "followups.queue_now": (ORGANISER, "queue the meeting's follow-up mail"),
    "door.live": (ORGANISER, "live door view"),
    "door.scanner": (ORGANISER, "the organiser's pass scanner"),
    "door.scan": (ORGANISER, "check in a scanned pass at that meeting"),
    "door.checkin_pass": (ORGANISER, "one-tap check-in; the service checks the pass's group"),
    "door.manual": (ORGANISER, "search registrations to check in by hand"),
    "door.manual_checkin": (ORGANISER, "check in a registration by hand"),
    "door.undo": (ORGANISER, "undo a check-in"),
    "door.walk_in": (ORGANISER, "register and check in a walk-in"),
    "door.kiosk_page": (ORGANISER, "the kiosk screen with its rotating code"),
    "door.kiosk_qr": (ORGANISER, "the kiosk's current self check-in code"),
    "door.poster": (ORGANISER, "the printable poster with the fixed code"),
    "door.poster_qr": (ORGANISER, "the poster's self check-in code"),
    # --- API: bearer token of an organiser of the object ------------------------------------
    "api_v1.Groups": (API, "create a group the token's user organises"),
    "api_v1.Members": (API, "list/add members of an organised group"),
    "api_v1.Meetings": (API, "create meetings in an organised group (group id in the body)"),
    "api_v1.MeetingResource": (API, "one organised meeting"),
    "api_v1.Registrations": (API, "registrations of an organised meeting (no pass tokens)"),
    "api_checkins.Checkins": (API, "check in a pass at a meeting the token's user organises"),
    "api_checkins.Attendance": (API, "live counts of an organised meeting"),
    "api_connections.Connections": (API, "who met whom at an organised meeting (no notes)"),
    "api_followups.MeetingFollowups": (API, "queue an organised meeting's follow-up mail"),
    "api_reports.MeetingReport": (API, "an organised meeting's report (names, no notes)"),
    "api_reports.GroupReport": (API, "an organised group's report (names, no notes)"),
}

ID_ARGS = {
    "group_id",
    "meeting_id",
    "registration_id",
    "connection_id",
    "goal_id",
    "user_id",
    "other_id",
}
# Arguments naming something the acting member owns at the meeting: someone registered there
# who does not own it is the "other member" of these routes (else: someone not registered).
OWNED_ARGS = {"connection_id", "goal_id", "other_id"}


def _walk_app():
    # Only for the parameter lists: routes do not depend on the configuration.
    return create_app({"TESTING": True, "SECRET_KEY": "route-walk", "DATABASE_URL": "sqlite://"})


def _id_args(rule) -> set[str]:
    return {name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)}


_RULES = sorted(
    (
        (rule.endpoint, rule.rule, method, frozenset(_id_args(rule)))
        for rule in _walk_app().url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    ),
    key=lambda r: (r[1], r[2]),
)


def _category(endpoint: str) -> str:
    # An endpoint nobody classified yet is walked as guarded: its tests fail until it is.
    return ROUTES[endpoint][0] if endpoint in ROUTES else "unclassified"


def _param(endpoint, rule, method, id_args):
    return pytest.param(endpoint, rule, method, id_args, id=f"{method} {rule}")


GUARDED = [_param(*r) for r in _RULES if _category(r[0]) not in (PUBLIC, TOKEN)]
WITH_IDS = [_param(*r) for r in _RULES if r[3] and _category(r[0]) != API]
API_WITH_IDS = [_param(*r) for r in _RULES if r[3] and _category(r[0]) == API]
# What a pass of the meeting itself must not open: organiser pages, sign-in pages, and the
# owned objects of other members at that meeting.
BEYOND_A_PASS = [
    _param(*r)
    for r in _RULES
    if r[3]
    and _category(r[0]) != API
    and (_category(r[0]) != MEMBER_AT_MEETING or r[3] & OWNED_ARGS)
]
AT_A_MEETING = [_param(*r) for r in _RULES if _category(r[0]) == MEMBER_AT_MEETING]
WITH_TOKENS = [
    _param(*r)
    for r in _RULES
    if "<" in r[1] and not r[3] and r[0] != "static"  # a string token in the path
]


# --- the world: two groups, real objects for every id ------------------------------------


@dataclass
class World:
    owner: int  # organises the group
    other_owner: int  # organises another group only
    ada: int  # member; checked in at the meeting; has a connection, a goal from before
    grace: int  # member; checked in; met Ada
    carol: int  # member; checked in at the meeting; owns nothing of Ada's
    dave: int  # member; registered at the meeting, not checked in yet
    bob: int  # member; registered only at the group's next meeting (holds that pass)
    hal: int  # member of the other group only
    group: int
    earlier: int  # the group's meeting a week ago (Ada set a goal there)
    meeting: int  # the group's meeting, on now
    next_meeting: int
    ada_reg: int
    carol_reg: int
    dave_reg: int
    dave_pass: str
    carol_pass: str
    bob_pass: str
    connection: int  # Ada and Grace, with private notes
    goal: int  # Ada's goal from the earlier meeting


ADA_NOTE = "ADA-PRIVATE: Grace is leaving her job"
GRACE_NOTE = "GRACE-PRIVATE: Ada owes me an intro"


@pytest.fixture
def world(make, now):
    owner = make.organiser(email="owner@example.com")
    group = make.group(owner, name="Product Circle")
    other_owner = make.organiser(email="other-owner@example.com", name="Oscar Other")
    other_group = make.group(other_owner, name="Other Circle")
    hal = make.member(other_group, name="Hal Elsewhere")
    ada = make.member(group, name="Ada Lovelace", share_contact=True, phone="+49 111")
    grace = make.member(group, name="Grace Hopper", share_contact=True, phone="+49 222")
    carol = make.member(group, name="Carol Bystander")
    dave = make.member(group, name="Dave Latecomer")
    bob = make.member(group, name="Bob Passholder")

    earlier = past_meeting(group, now, ago=timedelta(days=7), title="Earlier meetup")
    attend(earlier, ada)
    goal = Goal(user_id=ada.id, meeting_id=earlier.id, text="find a co-founder")
    db.session.add(goal)

    meeting = make.meeting(group, starts_in=timedelta(minutes=-30), now=now, title="Pricing")
    checked_in = {"checked_in_at": now - timedelta(minutes=20), "checkin_how": "manual"}
    ada_reg = make.registration(meeting, ada, **checked_in)
    make.registration(meeting, grace, **checked_in)
    carol_reg = make.registration(meeting, carol, **checked_in)
    dave_reg = make.registration(meeting, dave)
    conn = meet(meeting, ada, grace, note_x=ADA_NOTE, note_y=GRACE_NOTE)

    next_meeting = make.meeting(group, starts_in=timedelta(days=28), now=now, title="Next")
    bob_reg = make.registration(next_meeting, bob)
    db.session.commit()
    return World(
        owner=owner.id,
        other_owner=other_owner.id,
        ada=ada.id,
        grace=grace.id,
        carol=carol.id,
        dave=dave.id,
        bob=bob.id,
        hal=hal.id,
        group=group.id,
        earlier=earlier.id,
        meeting=meeting.id,
        next_meeting=next_meeting.id,
        ada_reg=ada_reg.id,
        carol_reg=carol_reg.id,
        dave_reg=dave_reg.id,
        dave_pass=dave_reg.pass_token,
        carol_pass=carol_reg.pass_token,
        bob_pass=bob_reg.pass_token,
        connection=conn.id,
        goal=goal.id,
    )


def _path(rule: str, endpoint: str, w: World, **ids) -> str:
    """``rule`` with the ids of the world's objects (a registration not yet checked in where
    checking in is the point), or the ``ids`` given."""
    assert endpoint in ROUTES, f"{endpoint} is not classified in ROUTES"
    values = {
        "group_id": w.group,
        "meeting_id": w.meeting,
        "registration_id": w.dave_reg if endpoint == "door.manual_checkin" else w.ada_reg,
        "connection_id": w.connection,
        "goal_id": w.goal,
        "user_id": w.grace,
        "other_id": w.grace,
    } | ids
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)


def _meeting_form(**overrides):
    data = {
        "title": "Taken over",
        "description": "",
        "venue": "",
        "date": "2031-03-09",
        "start_time": "18:30",
        "end_time": "21:00",
        "timezone": "Europe/Berlin",
        "capacity": "",
        "checkin_opens_minutes": "60",
        "checkin_closes_minutes": "0",
        "followup_delay_minutes": "120",
        "recurrence": "none",
        "count": "",
    }
    data.update(overrides)
    return data


def _request_kwargs(endpoint: str, w: World) -> dict:
    """A request body the rightful actor would succeed with: refusing it is then the access
    check's doing, never the form's."""
    form = {
        "organiser.new_group": {"name": "Hijacked", "timezone": "Europe/Berlin"},
        "organiser.add_member": {"name": "Eve", "email": "eve@example.com"},
        "organiser.edit_group": {"name": "Renamed", "timezone": "Europe/Berlin"},
        "organiser.edit_member": {"name": "Renamed", "company": "Taken Over Ltd"},
        "organiser.new_meeting": _meeting_form(),
        "organiser.edit_meeting": _meeting_form(title="Renamed"),
        "organiser.register_members": {"user_ids": [str(w.bob)]},
        "organiser.message_drifting": {"subject": "Come back", "body": "We miss you."},
        "organiser.message_attendees": {"audience": "registered", "subject": "Hi", "body": "Hi"},
        "connect.rounds": {"rows": "1,A,Ada Lovelace\n1,A,Carol Bystander\n"},
        "door.walk_in": {"name": "Walker", "email": "walker@example.com"},
        "door.checkin_pass": {"token": w.dave_pass},
        "connect.edit_note": {"note": "overwritten by someone else"},
        "followups.set_state": {"state": "done"},
        "followups.set_promise": {"promise": "intro to Sam"},
        "followups.set_goal": {"text": "take over the group"},
        "followups.answer_goal": {"outcome": "dropped"},
        "attendee.rsvp": {"status": "going"},
        "attendee.profile": {"name": "Pwned", "phone": "+1 000", "share_contact": "y"},
    }
    if endpoint == "organiser.import_members":
        csv = io.BytesIO(b"name,email\nEve,eve@example.com\n")
        return {"data": {"file": (csv, "members.csv")}, "content_type": "multipart/form-data"}
    if endpoint == "door.scan":
        return {"json": {"code": w.dave_pass, "nonce": "walk-nonce-1"}}
    json_bodies = {
        "api_v1.Groups": {"name": "Hijacked"},
        "api_v1.Members": {"name": "Eve", "email": "eve@example.com"},
        "api_v1.Meetings": {
            "group_id": w.group,
            "title": "Hijacked",
            "starts_at": "2031-03-09T18:30:00+01:00",
            "ends_at": "2031-03-09T21:00:00+01:00",
            "timezone": "Europe/Berlin",
        },
        "api_v1.Registrations": {"user_id": w.bob},
        "api_checkins.Checkins": {"token": w.dave_pass, "meeting_id": w.meeting},
        "api_connections.Connections": {"a": w.ada_reg, "b": w.carol_reg},
    }
    if endpoint in json_bodies:
        return {"json": json_bodies[endpoint]}
    return {"data": form.get(endpoint, {})}


def _call(client, method: str, path: str, endpoint: str, w: World, headers=None):
    kwargs = _request_kwargs(endpoint, w) if method != "GET" else {}
    return client.open(path, method=method, headers=headers or {}, **kwargs)


# Sessions and API tokens note when they were last used: compare which rows exist only.
_VOLATILE = {"auth_sessions", "api_tokens"}


def _snapshot() -> dict:
    """Every row of every table (as the next request would see it after this one ended)."""
    db.session.rollback()
    state = {}
    for table in db.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        columns = pk if table.name in _VOLATILE else list(table.columns)
        rows = db.session.execute(select(*columns).order_by(*pk)).all()
        state[table.name] = [tuple(row) for row in rows]
    return state


def _changes(before: dict, after: dict) -> dict:
    return {
        name: {"gone": set(rows) - set(after[name]), "new": set(after[name]) - set(rows)}
        for name, rows in before.items()
        if rows != after[name]
    }


def _signed_in(auth, user_id: int) -> None:
    auth.login_as(db.session.get(User, user_id))


def _bearer(user_id: int, now) -> dict:
    token = factories.api_token(db.session.get(User, user_id), now)
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _to_sign_in(response) -> bool:
    return response.status_code == 302 and response.location.split("?")[0].endswith("/login")


def _other_member(endpoint: str, id_args: frozenset, w: World) -> int:
    """Someone who may use the kind of route but does not own this object."""
    category = ROUTES[endpoint][0]
    if category == ORGANISER:
        return w.ada  # a plain member of the group, in everything the ids point at
    if category == MEMBER_AT_MEETING:
        return w.carol if id_args & OWNED_ARGS else w.bob
    return w.hal  # SIGNED_IN routes of a group's meeting: a member of another group


# --- the table ---------------------------------------------------------------------------


def test_every_endpoint_is_classified(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(ROUTES) - endpoints == set(), "classified, but no such route any more"
    assert endpoints - set(ROUTES) == set(), "new routes: classify them in ROUTES"
    assert {category for category, _ in ROUTES.values()} <= {
        PUBLIC,
        TOKEN,
        MEMBER_AT_MEETING,
        SIGNED_IN,
        ORGANISER,
        API,
    }
    assert all(reason.strip() for _, reason in ROUTES.values())


def test_every_id_in_a_path_has_a_real_object(app):
    names = set().union(*(_id_args(rule) for rule in app.url_map.iter_rules()))
    assert names <= ID_ARGS, "an id argument the walk cannot fill: add it to _path"


def test_api_routes_are_exactly_the_api_prefix(app):
    for rule in app.url_map.iter_rules():
        under_api = rule.rule.startswith("/api/v1/")
        assert under_api == (ROUTES[rule.endpoint][0] == API), rule.rule


# --- anonymous ---------------------------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "rule", "method", "id_args"), GUARDED)
def test_anonymous_is_refused(client, world, endpoint, rule, method, id_args):
    path = _path(rule, endpoint, world)
    before = _snapshot()
    response = _call(client, method, path, endpoint, world)
    if ROUTES[endpoint][0] == API:
        assert response.status_code == 401
    else:
        assert _to_sign_in(response) or response.status_code == 404, response.status_code
    assert _changes(before, _snapshot()) == {}
    assert client.get_cookie("remember_token") is None


# --- every id in a path, three actors who may not touch it ------------------------------


@pytest.mark.parametrize(("endpoint", "rule", "method", "id_args"), WITH_IDS)
def test_another_groups_organiser_gets_404(client, auth, world, endpoint, rule, method, id_args):
    _signed_in(auth, world.other_owner)
    before = _snapshot()
    response = _call(client, method, _path(rule, endpoint, world), endpoint, world)
    assert response.status_code == 404
    assert _changes(before, _snapshot()) == {}


@pytest.mark.parametrize(("endpoint", "rule", "method", "id_args"), WITH_IDS)
def test_a_member_who_does_not_own_it_gets_404(
    client, auth, world, endpoint, rule, method, id_args
):
    _signed_in(auth, _other_member(endpoint, id_args, world))
    before = _snapshot()
    response = _call(client, method, _path(rule, endpoint, world), endpoint, world)
    assert response.status_code == 404
    assert _changes(before, _snapshot()) == {}


@pytest.mark.parametrize(("endpoint", "rule", "method", "id_args"), WITH_IDS)
def test_a_pass_of_another_meeting_gets_404_or_sign_in(
    client, world, endpoint, rule, method, id_args
):
    assert client.get(f"/p/{world.bob_pass}").status_code == 200  # the group's next meeting
    before = _snapshot()
    response = _call(client, method, _path(rule, endpoint, world), endpoint, world)
    assert response.status_code == 404 or _to_sign_in(response), response.status_code
    assert _changes(before, _snapshot()) == {}
    assert client.get_cookie("remember_token") is None


@pytest.mark.parametrize(("endpoint", "rule", "method", "id_args"), AT_A_MEETING)
def test_a_pass_remembered_past_its_days_acts_nowhere(
    app, client, make, world, now, endpoint, rule, method, id_args
):
    """A pass this browser opened while it worked, of a meeting that ended more than
    PASS_LINK_DAYS ago: every member page of that meeting asks for a sign-in."""
    group = db.session.get(Group, world.group)
    days = app.config["PASS_LINK_DAYS"]
    old = past_meeting(group, now, ago=timedelta(days=days + 1), title="Long ago")
    ada, grace = db.session.get(User, world.ada), db.session.get(User, world.grace)
    attend(old, ada)
    attend(old, grace)
    conn = meet(old, ada, grace, note_x=ADA_NOTE)
    token = db.session.scalar(
        select(Registration.pass_token).where(
            Registration.meeting_id == old.id, Registration.user_id == ada.id
        )
    )
    with client.session_transaction() as session:
        session[PASSES] = {str(old.id): token}
    before = _snapshot()
    path = _path(rule, endpoint, world, meeting_id=old.id, connection_id=conn.id)
    response = _call(client, method, path, endpoint, world)
    assert _to_sign_in(response), response.status_code
    assert ADA_NOTE not in response.get_data(as_text=True)
    assert _changes(before, _snapshot()) == {}


@pytest.mark.parametrize(("endpoint", "rule", "method", "id_args"), BEYOND_A_PASS)
def test_a_pass_of_this_meeting_opens_no_more_than_its_members_own(
    client, world, endpoint, rule, method, id_args
):
    """Carol's pass, at her own meeting: not the organiser's pages, not Ada's connection,
    goal or follow-ups."""
    assert client.get(f"/p/{world.carol_pass}").status_code == 200
    before = _snapshot()
    response = _call(client, method, _path(rule, endpoint, world), endpoint, world)
    if ROUTES[endpoint][0] == MEMBER_AT_MEETING:
        assert response.status_code == 404
    else:
        assert _to_sign_in(response), response.status_code
    assert _changes(before, _snapshot()) == {}
    assert client.get_cookie("remember_token") is None


@pytest.mark.parametrize("actor", ["other_owner", "ada"])
@pytest.mark.parametrize(("endpoint", "rule", "method", "id_args"), API_WITH_IDS)
def test_api_token_of_someone_else_gets_404(
    client, world, now, actor, endpoint, rule, method, id_args
):
    headers = _bearer(getattr(world, actor), now)
    before = _snapshot()
    response = _call(client, method, _path(rule, endpoint, world), endpoint, world, headers)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert _changes(before, _snapshot()) == {}


@pytest.mark.parametrize(("endpoint", "rule", "method", "id_args"), API_WITH_IDS)
def test_api_with_a_pass_in_the_browser_is_still_401(
    client, world, endpoint, rule, method, id_args
):
    client.get(f"/p/{world.dave_pass}")  # a pass of this very meeting: still no API access
    before = _snapshot()
    response = _call(client, method, _path(rule, endpoint, world), endpoint, world)
    assert response.status_code == 401
    assert _changes(before, _snapshot()) == {}


# --- ids in the body rather than the path ------------------------------------------------


@pytest.mark.parametrize("actor", ["other_owner", "ada"])
def test_ids_in_a_body_are_checked_too(client, auth, world, now, actor):
    headers = _bearer(getattr(world, actor), now)
    _signed_in(auth, getattr(world, actor))
    before = _snapshot()
    meetings = client.post(
        "/api/v1/meetings", json=_request_kwargs("api_v1.Meetings", world)["json"], headers=headers
    )
    assert meetings.status_code == 404
    at_meeting = client.post(
        "/api/v1/checkins",
        json={"token": world.dave_pass, "meeting_id": world.meeting},
        headers=headers,
    )
    assert at_meeting.status_code == 404
    anywhere = client.post("/api/v1/checkins", json={"token": world.dave_pass}, headers=headers)
    assert anywhere.status_code == 404 and anywhere.json["status"] == "invalid"
    assert "Dave" not in anywhere.get_data(as_text=True)
    page = client.post("/door/pass", data={"token": world.dave_pass})
    assert page.status_code == 404 and b"Dave" not in page.data
    changes = _changes(before, _snapshot())
    # Every scan is recorded, refused ones too: as "invalid", naming no registration.
    attempts = db.session.scalars(select(CheckinEvent).order_by(CheckinEvent.id)).all()
    assert {(e.status, e.registration_id, e.meeting_id) for e in attempts} <= {
        ("invalid", None, None)
    }
    changes.pop("checkin_events", None)
    assert changes == {}
    assert db.session.get(Registration, world.dave_reg).checked_in_at is None


# --- the walk's own controls: the ids are real and the bodies valid ----------------------


def _rightful(endpoint: str, w: World) -> int:
    category = ROUTES[endpoint][0]
    return w.owner if category in (ORGANISER, API) else w.ada


@pytest.mark.parametrize(("endpoint", "rule", "method", "id_args"), WITH_IDS + API_WITH_IDS)
def test_the_rightful_actor_gets_through(client, auth, world, now, endpoint, rule, method, id_args):
    """Without this, every refusal above could be a 404 for a wrong id or a bad body. (Follow-up
    mail of a meeting still on is a 409 "not over": past the access check.)"""
    headers = None
    if ROUTES[endpoint][0] == API:
        headers = _bearer(world.owner, now)
    elif endpoint == "connect.met_from_list":
        _signed_in(auth, world.carol)  # Ada met Grace already; Carol has not
    else:
        _signed_in(auth, _rightful(endpoint, world))
    response = _call(client, method, _path(rule, endpoint, world), endpoint, world, headers)
    ok = (200, 201, 302, 409) if endpoint == "api_followups.MeetingFollowups" else (200, 201, 302)
    assert response.status_code in ok, response.get_data(as_text=True)[:500]
    assert not _to_sign_in(response)


def test_a_pass_holder_acts_at_their_own_meeting_only(client, world):
    assert client.get(f"/p/{world.bob_pass}").status_code == 200
    assert client.get(f"/e/{world.next_meeting}").status_code == 200
    assert client.get(f"/f/{world.next_meeting}").status_code == 200
    assert _to_sign_in(client.get(f"/e/{world.meeting}"))
    assert _to_sign_in(client.get("/me"))


# --- a made-up token opens nothing ---------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "rule", "method", "id_args"), WITH_TOKENS)
def test_a_made_up_token_is_refused(client, world, endpoint, rule, method, id_args):
    path = re.sub(r"<(?:\w+:)?\w+>", "Zm9yZ2VkLXRva2VuLW9mLW5vLW9uZQ", rule)
    before = _snapshot()
    response = _call(client, method, path, endpoint, world)
    assert response.status_code in (400, 404, 410, 422), response.status_code
    assert _changes(before, _snapshot()) == {}


# --- issue #11: the takeover, step by step -------------------------------------------------

ALAN_NOTE = "ALAN-PRIVATE: Zed is about to resign, call him first"
ZED_PHONE = "+44 7700 900123"
ALAN_PHONE = "+44 7700 900456"
ALAN_GOAL = "ALAN-GOAL: raise the seed round"


@pytest.fixture
def alan(make, now):
    """Alan: a member of another group, with a private note and a contact from a meeting there."""
    owner = make.organiser(email="real-owner@example.com")
    group = make.group(owner, name="Alan's Real Circle")
    alan = make.member(
        group, name="Alan Turing", email="alan@example.com", phone=ALAN_PHONE, share_contact=True
    )
    zed = make.member(
        group, name="Zed Zebedee", email="zed@example.com", phone=ZED_PHONE, share_contact=True
    )
    there = past_meeting(group, now, ago=timedelta(days=3), title="Real meetup")
    attend(there, alan)
    attend(there, zed)
    conn = meet(there, alan, zed, note_x=ALAN_NOTE)
    goal = Goal(user_id=alan.id, meeting_id=there.id, text=ALAN_GOAL)
    db.session.add(goal)
    db.session.commit()
    return {
        "id": alan.id,
        "meeting": there.id,
        "connection": conn.id,
        "goal": goal.id,
        "group": group.id,
    }


def _id_from(location: str, prefix: str) -> int:
    return int(re.search(rf"{prefix}/(\d+)", location).group(1))


def test_takeover_of_issue_11_takes_nothing_over(app, client, alan, now):
    secrets_of_alan = [ALAN_NOTE, "Zed Zebedee", "zed@example.com", ZED_PHONE, ALAN_PHONE]
    secrets_of_alan += [ALAN_GOAL, "Alan's Real Circle", "Alan&#39;s Real Circle"]
    seen = []

    def fetch(c, method, path, **kwargs):
        response = c.open(path, method=method, **kwargs)
        seen.append((f"{method} {path}", response.get_data(as_text=True)))
        return response

    # 1. A stranger signs up: the link goes to the stranger's own inbox, and proves it.
    signup = {"name": "Sam Stranger", "email": "sam@stranger-example.com"}
    signup |= {"password": PASSWORD, "confirm": PASSWORD}
    assert fetch(client, "POST", "/register", data=signup).status_code == 200
    mail = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.recipient == "sam@stranger-example.com")
    )
    confirm = re.search(r"http://eventtrack\.test(/register/\S+)", mail.body_text).group(1)
    assert fetch(client, "POST", confirm).status_code == 302

    # 2. … creates a group, adds alan@…, creates a meeting and registers him.
    created = fetch(
        client,
        "POST",
        "/organise/groups/new",
        data={"name": "Stranger Things", "description": "", "timezone": "Europe/Berlin"},
    )
    group_id = _id_from(created.location, "/organise/groups")
    added = fetch(
        client,
        "POST",
        f"/organise/groups/{group_id}/members",
        data={"name": "Alan", "email": "alan@example.com"},
    )
    assert added.status_code == 302
    created = fetch(
        client, "POST", f"/organise/groups/{group_id}/meetings/new", data=_meeting_form()
    )
    meeting_id = _id_from(created.location, "/organise/meetings")
    page = fetch(client, "GET", f"/organise/meetings/{meeting_id}")
    assert f'value="{alan["id"]}"' in page.get_data(as_text=True)  # offered to register
    fetch(
        client,
        "POST",
        f"/organise/meetings/{meeting_id}/registrations",
        data={"user_ids": [str(alan["id"])]},
    )
    reg = db.session.scalar(
        select(Registration).where(
            Registration.meeting_id == meeting_id, Registration.user_id == alan["id"]
        )
    )
    assert reg is not None and reg.status == "going"
    token = reg.pass_token

    # 3. Nothing the organiser sees, on any page or through the API, holds Alan's pass.
    organiser_pages = [
        f"/organise/meetings/{meeting_id}",
        f"/organise/groups/{group_id}",
        f"/organise/meetings/{meeting_id}/connections",
        f"/organise/meetings/{meeting_id}/followups",
        f"/door/m/{meeting_id}",
        f"/door/m/{meeting_id}/manual?q=alan",
        f"/door/m/{meeting_id}/manual?q=alan&partial=1",
        f"/door/m/{meeting_id}/kiosk",
        f"/door/m/{meeting_id}/poster",
        "/organise/",
        "/",
    ]
    for path in organiser_pages:
        assert fetch(client, "GET", path).status_code == 200, path
    fetch(client, "POST", f"/organise/registrations/{reg.id}/resend-pass")
    sam = db.session.scalar(select(User).where(User.email == "sam@stranger-example.com"))
    api = {"Authorization": f"Bearer {factories.api_token(sam, now)}"}
    db.session.commit()
    for path in (
        f"/api/v1/meetings/{meeting_id}/registrations",
        f"/api/v1/groups/{group_id}/members",
        f"/api/v1/meetings/{meeting_id}",
        f"/api/v1/meetings/{meeting_id}/connections",
    ):
        assert fetch(client, "GET", path, headers=api).status_code == 200, path
    added = fetch(
        client,
        "POST",
        f"/api/v1/meetings/{meeting_id}/registrations",
        json={"user_id": alan["id"]},
        headers=api,
    )
    assert added.status_code == 200
    for path in (
        f"/api/v1/meetings/{meeting_id}/registrations",
        f"/api/v1/groups/{group_id}/members",
    ):
        export = fetch(client, "GET", path, headers={**api, "Accept": "text/csv"})
        assert export.status_code == 200, path  # CSV once DESIGN.md's exports exist
    for where, body in seen:
        assert token not in body, f"pass token shown to the organiser: {where}"
        assert "/login/link/" not in body, f"a sign-in link shown to the organiser: {where}"
    # And the organiser's own session reaches nothing of Alan's other group.
    for path in (
        f"/organise/groups/{alan['group']}",
        f"/organise/meetings/{alan['meeting']}",
        f"/m/{alan['meeting']}",
        f"/f/{alan['meeting']}",
        f"/e/{alan['meeting']}",
    ):
        assert fetch(client, "GET", path).status_code == 404, path

    # 4. Even holding a pass link for *their* meeting, a fresh browser is not Alan.
    stranger = app.test_client()
    assert fetch(stranger, "GET", f"/p/{token}").status_code == 200
    assert _to_sign_in(fetch(stranger, "GET", "/me"))
    landing = fetch(stranger, "GET", "/")
    assert landing.status_code == 200 and b"Create an organiser account" in landing.data
    assert b"Alan" not in landing.data
    for path in (f"/f/{alan['meeting']}", f"/e/{alan['meeting']}"):
        response = fetch(stranger, "GET", path)
        assert _to_sign_in(response) or response.status_code == 404, path
    for path in ("/organise/", f"/m/{alan['meeting']}", f"/m/{meeting_id}"):
        assert _to_sign_in(fetch(stranger, "GET", path)), path

    before = _snapshot()
    profile = {"name": "Pwned", "phone": "+1 000", "share_contact": "", "followup_emails": ""}
    assert _to_sign_in(fetch(stranger, "POST", "/me", data=profile))
    note = fetch(stranger, "POST", f"/connections/{alan['connection']}/note", data={"note": "gone"})
    assert _to_sign_in(note) or note.status_code == 404
    answer = fetch(
        stranger,
        "POST",
        f"/f/{meeting_id}/goals/{alan['goal']}/answer",
        data={"outcome": "dropped"},
    )
    assert answer.status_code == 404  # a goal of another group, even as this meeting's holder
    assert _changes(before, _snapshot()) == {}

    # What the pass does allow, at the stranger's meeting only, shows nothing from elsewhere.
    for path in (
        f"/p/{token}",
        f"/p/{token}/calendar.ics",
        f"/e/{meeting_id}",
        f"/f/{meeting_id}",
        f"/f/{meeting_id}/contacts.vcf",
    ):
        assert fetch(stranger, "GET", path).status_code == 200, path
    to_list = fetch(stranger, "GET", f"/p/{token}/followups")
    assert to_list.status_code == 302 and to_list.location == f"/f/{meeting_id}"

    # An expired-pass style request for a sign-in link mails Alan's inbox, never this browser.
    sent = fetch(stranger, "POST", f"/p/{token}/sign-in-link")
    assert sent.status_code == 200 and b"/login/link/" not in sent.data
    link_mail = db.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.kind == "login_link")
        .order_by(OutboxMessage.id.desc())
    )
    assert link_mail.recipient == "alan@example.com"
    assert _to_sign_in(fetch(stranger, "GET", "/me"))

    assert stranger.get_cookie("remember_token") is None
    with stranger.session_transaction() as session:
        assert "_user_id" not in session
    alan_now = db.session.get(User, alan["id"])
    assert (alan_now.name, alan_now.phone, alan_now.share_contact) == (
        "Alan Turing",
        ALAN_PHONE,
        True,
    )
    assert db.session.get(Connection, alan["connection"]).note_a == ALAN_NOTE
    for where, body in seen:
        for secret in secrets_of_alan:
            assert secret not in body, f"{secret!r} shown at {where}"


def test_signing_out_forgets_the_passes_this_browser_opened(client, world):
    """A shared browser: Carol opens her pass, then signs in by emailed link and signs out.
    The next person at that browser must not act as Carol at her meeting."""
    assert client.get(f"/p/{world.carol_pass}").status_code == 200
    assert client.post("/login/link", data={"email": db.session.get(User, world.carol).email})
    mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "login_link"))
    link = re.search(r"http://eventtrack\.test(/login/link/\S+)", mail.body_text).group(1)
    assert client.post(link).status_code == 302
    assert client.get("/me").status_code == 200
    assert client.post("/logout").status_code == 302
    assert _to_sign_in(client.get("/me"))
    for path in (f"/e/{world.meeting}", f"/f/{world.meeting}"):
        assert _to_sign_in(client.get(path)), f"{path}: still Carol after signing out"
