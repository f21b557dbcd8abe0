"""API v1 routes: parse with a schema, call one service, serialise the result."""

from zoneinfo import ZoneInfo

from flask.views import MethodView

from ...extensions import db
from ...models import User, utcnow
from ...services import access, accounts, groups, meetings, members, registrations
from ...services.errors import Invalid
from ...services.meetings import MeetingDetails
from ...transaction import atomic
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
    @blp.response(200, MemberOut(many=True))
    def get(self, group_id):
        """List the group's members: as typed when added, until each takes part."""
        return members.member_views(access.organised_group(api_user(), group_id))

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
            created = meetings.create_meetings(group, details, data["recurrence"], data["count"])
        return {"meetings": created}


@blp.route("/meetings/<int:meeting_id>")
class MeetingResource(MethodView):
    @blp.response(200, MeetingOut)
    def get(self, meeting_id):
        """One meeting."""
        return access.organised_meeting(api_user(), meeting_id)


@blp.route("/meetings/<int:meeting_id>/registrations")
class Registrations(MethodView):
    @blp.response(200, RegistrationsOut)
    def get(self, meeting_id):
        """List the meeting's registrations with their check-in state (passes go to members
        by email only)."""
        meeting = access.organised_meeting(api_user(), meeting_id)
        return {"registrations": registrations.for_organisers(meeting)}

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
