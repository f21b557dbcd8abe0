"""API v1 routes: parse with a schema, call one service, serialise the result.

The member and registration lists paginate with flask-smorest's own pagination (``page``,
``page_size`` query arguments, an ``X-Pagination`` header); asked for ``Accept: text/csv`` they
answer every row as the organisers' CSV export instead (``services.exports``), unpaginated.
"""

from functools import wraps
from zoneinfo import ZoneInfo

from flask import request
from flask.views import MethodView

from ...extensions import db
from ...models import User, utcnow
from ...services import (
    access,
    accounts,
    exports,
    groups,
    meetings,
    members,
    registration_views,
    registrations,
)
from ...services.errors import Invalid
from ...services.meetings import MeetingDetails
from ...transaction import atomic
from ..downloads import csv_download
from .auth import api_blueprint, api_user
from .schemas import (
    GroupIn,
    GroupOut,
    MeetingIn,
    MeetingOut,
    MeetingsOut,
    MemberIn,
    MemberOut,
    RegistrationIn,
    RegistrationOut,
    RegistrationsOut,
)

blp = api_blueprint("api_v1", __name__, "Groups, members, meetings and registrations.")

# A page of a list: 100 rows unless asked otherwise, at most 1,000 (flask-smorest's arguments).
PAGE_SIZE, MAX_PAGE_SIZE = 100, 1000


def csv_doc(header: tuple[str, ...]) -> dict:
    """The OpenAPI words for the CSV alternative of a list's 200 answer (``Accept: text/csv``)."""
    example = ",".join(header) + "\r\n"
    content = {"text/csv": {"schema": {"type": "string"}, "example": example}}
    # 200 as an int: the key flask-smorest's own response documentation uses, so they merge.
    return {"responses": {200: {"content": content}}}


def wants_csv() -> bool:
    """The client prefers CSV to JSON (``Accept: text/csv``); JSON when it does not say."""
    return request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"


def or_csv(export):
    """Answer ``export(**view_args)`` — ``(text, file name)`` — as a CSV download when the
    client asks for CSV; the JSON view (and its pagination) otherwise. Outermost, so that a
    CSV answer is every row, with no ``X-Pagination`` header."""

    def decorator(view):
        @wraps(view)
        def wrapper(self, *args, **kwargs):
            if not wants_csv():
                return view(self, *args, **kwargs)
            text, filename = export(**kwargs)
            return csv_download(text, filename)

        return wrapper

    return decorator


def _members_csv(group_id):
    group = access.organised_group(api_user(), group_id)
    return exports.members_csv(group), exports.members_filename(group)


def _registrations_csv(meeting_id):
    meeting = access.organised_meeting(api_user(), meeting_id)
    return exports.registrations_csv(meeting), exports.registrations_filename(meeting)


@blp.route("/groups")
class Groups(MethodView):
    @blp.arguments(GroupIn)
    @blp.response(201, GroupOut)
    def post(self, data):
        """Create a group; the token's user becomes its organiser."""
        with atomic():
            return groups.create_group(
                api_user(), data["name"], data["description"], data["timezone"]
            )


@blp.route("/groups/<int:group_id>/members")
class Members(MethodView):
    @or_csv(_members_csv)
    @blp.response(200, MemberOut(many=True))
    @blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    @blp.doc(**csv_doc(exports.MEMBER_HEADER))
    def get(self, group_id, pagination_parameters):
        """List the group's members: as typed when added, until each takes part.

        Paginated (``page``, ``page_size``; ``X-Pagination``), by name. ``Accept: text/csv``:
        every member as a CSV file (with meetings attended), not paginated.
        """
        group = access.organised_group(api_user(), group_id)
        page = members.member_page(
            group, page=pagination_parameters.page, per_page=pagination_parameters.page_size
        )
        pagination_parameters.item_count = page.total
        return page.members if page.page == pagination_parameters.page else []

    @blp.arguments(MemberIn)
    @blp.response(201, MemberOut, description="Added.")
    @blp.alt_response(200, schema=MemberOut, description="Already a member: nothing changed.")
    def post(self, data, group_id):
        """Add a member by email; idempotent (200 if already a member).

        The answer holds what was typed, never the account's own profile; a new member is
        emailed who added them, with links to leave or to show their profile.
        """
        user = api_user()
        group = access.organised_group(user, group_id)
        with atomic():
            membership, created = groups.add_member(
                group, data["name"], data["email"], data["company"], added_by=user, now=utcnow()
            )
        return members.member_view(membership), 201 if created else 200


@blp.route("/meetings")
class Meetings(MethodView):
    @blp.arguments(MeetingIn)
    @blp.response(201, MeetingsOut)
    def post(self, data):
        """Create a meeting (or a series with ``recurrence`` and ``count``)."""
        group = access.organised_group(api_user(), data["group_id"])
        groups.check_timezone(data["timezone"])
        tz = ZoneInfo(data["timezone"])
        details = MeetingDetails(
            title=data["title"],
            description=data["description"],
            venue=data["venue"],
            timezone=data["timezone"],
            starts_local=data["starts_at"].astimezone(tz).replace(tzinfo=None),
            ends_local=data["ends_at"].astimezone(tz).replace(tzinfo=None),
            capacity=data["capacity"],
            checkin_opens_minutes=data["checkin_opens_minutes"],
            checkin_closes_minutes=data["checkin_closes_minutes"],
            followup_delay_minutes=data["followup_delay_minutes"],
        )
        with atomic():
            created = meetings.create_meetings(
                group, details, data["recurrence"], data["count"], now=utcnow()
            )
        return {"meetings": created}


@blp.route("/meetings/<int:meeting_id>")
class MeetingResource(MethodView):
    @blp.response(200, MeetingOut)
    def get(self, meeting_id):
        """One meeting."""
        return access.organised_meeting(api_user(), meeting_id)


@blp.route("/meetings/<int:meeting_id>/registrations")
class Registrations(MethodView):
    @or_csv(_registrations_csv)
    @blp.response(200, RegistrationsOut)
    @blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    @blp.doc(**csv_doc(exports.registrations_header("Europe/Berlin")))
    def get(self, meeting_id, pagination_parameters):
        """List the meeting's registrations with their check-in state (passes go to members
        by email only).

        Paginated (``page``, ``page_size``; ``X-Pagination``), in ``registrations``.
        ``Accept: text/csv``: every registration with attendance (local check-in time, how,
        first time) as a CSV file, not paginated.
        """
        meeting = access.organised_meeting(api_user(), meeting_id)
        page = registration_views.registrations_page(
            meeting, "", pagination_parameters.page, pagination_parameters.page_size
        )
        pagination_parameters.item_count = page.total
        items = page.items if page.page == pagination_parameters.page else []
        return {"registrations": items}

    @blp.arguments(RegistrationIn)
    @blp.response(201, RegistrationOut, description="Registered (going, or waitlist when full).")
    @blp.alt_response(200, schema=RegistrationOut, description="Already registered.")
    def post(self, data, meeting_id):
        """Register a member; their pass goes to them by email. Idempotent."""
        meeting = access.organised_meeting(api_user(), meeting_id)
        if "user_id" in data:
            user = db.session.get(User, data["user_id"])
        else:
            user = accounts.user_by_email(data["email"])
        if user is None or access.member_of(user, meeting.group_id) is None:
            field = "user_id" if "user_id" in data else "email"
            raise Invalid("Not a member of this meeting's group.", field=field)
        with atomic():
            reg, changed = registrations.register(meeting, user, utcnow())
        [view] = registrations.for_organisers(meeting, reg.id)
        return view, 201 if changed else 200
