"""API v1: the reports of a meeting and of a group's series (issue #14) — the same figures as
the organiser's report pages, from one service (``services.insights``). Counts and names of
people present only: never notes, goals' text or follow-up states.

Only an organiser of the group may read them; anyone else, and an id that does not exist, is
answered 404 (``services.access``).
"""

from dataclasses import asdict

from flask.views import MethodView
from marshmallow import fields, pre_dump

from ...models import utcnow
from ...services import access, insights
from .auth import api_blueprint, api_user
from .schemas import ErrorOut, Strict

blp = api_blueprint(
    "api_reports",
    __name__,
    "Reports: how a meeting went, how a group's series goes. Counts and names, never notes.",
)


def _count(description: str) -> fields.Integer:
    return fields.Integer(metadata={"description": description})


class PersonOut(Strict):
    user_id = fields.Integer()
    name = fields.String()
    first_timer = fields.Boolean(
        metadata={"description": "At this meeting: the first meeting of the group they attended."}
    )


class ArrivalOut(Strict):
    minute = fields.Integer(
        metadata={"description": "Minutes after the start (negative: before), a multiple of 10."}
    )
    count = _count("Check-ins in the 10 minutes from `minute`.")


class DistributionOut(Strict):
    connections = _count("A number of connections…")
    attendees = _count("…and how many people present made that many.")


class MeetingReportOut(Strict):
    meeting_id = fields.Integer()
    registered = _count("Holding a place (going), walk-ins not included.")
    checked_in = _count("Present, walk-ins included.")
    no_shows = _count("Registered and not present.")
    walk_ins = _count("Present, checked in as a walk-in.")
    cancelled = _count("Registrations cancelled.")
    waitlist = _count("On the waitlist.")
    first_timers = _count("Present at their first meeting of the group (the door's rule).")
    returning = _count("Present, having attended an earlier meeting of the group.")
    connections = _count("Connections recorded between two people present.")
    connections_per_attendee_median = fields.Float(
        metadata={"description": "Over everyone present (people who met nobody count 0)."}
    )
    distribution = fields.List(
        fields.Nested(DistributionOut), metadata={"description": "Ascending by connections."}
    )
    met_nobody = fields.List(
        fields.Nested(PersonOut),
        metadata={"description": "Present and met nobody: first-timers first, then by name."},
    )
    arrivals = fields.List(
        fields.Nested(ArrivalOut),
        metadata={"description": "From the first check-in's 10 minutes to the last, gaps as 0."},
    )
    followups_sent = _count("Follow-up emails sent.")
    followups_failed = _count("Follow-up emails that failed.")
    followups_pending = _count("Follow-up emails queued, not sent yet.")
    followups_done = _count("Follow-ups attendees marked done.")
    goals_set = _count("Goals attendees set at this meeting.")
    goals_done = _count("Of those, reported done (at the group's next meeting).")

    @pre_dump
    def pairs_as_objects(self, report, **kwargs):
        data = asdict(report)
        data["distribution"] = [
            {"connections": n, "attendees": people} for n, people in report.distribution
        ]
        return data


class MeetingPointOut(Strict):
    meeting_id = fields.Integer()
    title = fields.String()
    starts_at = fields.AwareDateTime()
    registered = _count("Holding a place (going), walk-ins not included.")
    checked_in = _count("Present, walk-ins included.")
    first_timers = _count("Present at their first meeting of the group.")


class DrifterOut(Strict):
    user_id = fields.Integer()
    name = fields.String()
    attended = _count("Meetings of the group they were present at.")
    last_attended = fields.AwareDateTime(
        metadata={"description": "The start of the last meeting they were present at."}
    )


class GroupReportOut(Strict):
    group_id = fields.Integer()
    meetings = fields.List(
        fields.Nested(MeetingPointOut),
        metadata={"description": "Meetings held (not cancelled, started), oldest first."},
    )
    drifting = fields.List(
        fields.Nested(DrifterOut),
        metadata={
            "description": "Members present at 3 or more meetings and absent from each of the "
            "last 3 held: longest absent first."
        },
    )
    first_timers = _count("People whose first meeting of the group is in the series.")
    returning_first_timers = _count("Of those, people present at a later meeting.")
    pairs_met = _count("Distinct pairs of people with a connection at a meeting of the group.")
    met_someone_new_last_time = fields.Float(
        allow_none=True,
        metadata={
            "description": "Share of those present at the latest meeting held who met someone "
            "they had not met at an earlier meeting of the group; null before any meeting."
        },
    )


@blp.route("/meetings/<int:meeting_id>/report")
class MeetingReport(MethodView):
    @blp.response(200, MeetingReportOut)
    @blp.alt_response(404, schema=ErrorOut, description="No such meeting of yours.")
    def get(self, meeting_id):
        """How the meeting went: registrations, arrivals, connections, follow-ups."""
        return insights.meeting_report(access.organised_meeting(api_user(), meeting_id))


@blp.route("/groups/<int:group_id>/report")
class GroupReport(MethodView):
    @blp.response(200, GroupReportOut)
    @blp.alt_response(404, schema=ErrorOut, description="No such group of yours.")
    def get(self, group_id):
        """How the group's series goes: attendance, drifting, retention, network growth."""
        return insights.group_report(access.organised_group(api_user(), group_id), utcnow())
