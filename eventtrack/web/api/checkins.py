"""API v1: check-in at the door. Answers are statuses with their own HTTP codes, not errors."""

import json

from flask import current_app, g
from flask.views import MethodView
from marshmallow import fields, validate

from ...models import utcnow
from ...models.vocabularies import CheckinHow
from ...services import access, attendance, checkin
from .auth import api_blueprint, api_user
from .schemas import Strict, id_field, load_json

blp = api_blueprint("api_checkins", __name__, "Check-in at the door.")


class CheckinIn(Strict):
    token = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "The pass token, or the pass URL a scanner read."},
    )
    meeting_id = id_field(
        load_default=None,
        allow_none=True,
        metadata={"description": "The meeting at this door; a pass of another is refused."},
    )
    nonce = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{8,64}$"),
        metadata={"description": "Random per scan: a retried request with it is a no-op."},
    )


class CheckinOut(Strict):
    status = fields.String(
        metadata={
            "description": "checked_in | already_checked_in | invalid | not_this_meeting | "
            "cancelled | not_open"
        }
    )
    message = fields.String()
    registration_id = fields.Integer(allow_none=True)
    name = fields.String()
    checked_in_at = fields.AwareDateTime(allow_none=True)
    first_time = fields.Boolean(
        metadata={"description": "First meeting of this group the person attends."}
    )
    replayed = fields.Boolean(metadata={"description": "The answer to an earlier same nonce."})


class AttendanceOut(Strict):
    meeting_id = fields.Integer()
    registered = fields.Integer(metadata={"description": "Registrations with a place."})
    checked_in = fields.Integer()
    walk_ins = fields.Integer()
    waitlist = fields.Integer()
    first_timers = fields.Integer()


_CHECKIN_IN = CheckinIn()


@blp.route("/checkins")
class Checkins(MethodView):
    # Validated by CheckinIn, but without webargs' per-request setup: this is the door's hot
    # path, where that setup cost as much as the check-in's own statements.
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": CheckinIn}}})
    @blp.response(201, CheckinOut, description="checked_in")
    @blp.alt_response(200, schema=CheckinOut, description="already_checked_in (with the time)")
    @blp.alt_response(404, schema=CheckinOut, description="invalid: not a pass of this app")
    @blp.alt_response(409, schema=CheckinOut, description="not_this_meeting, cancelled or not_open")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    def post(self):
        """Check in the holder of a pass; idempotent, and a repeated nonce changes nothing."""
        data = load_json(_CHECKIN_IN)
        result = checkin.check_in(
            data["meeting_id"],
            data["token"],
            g.api_user_id,
            utcnow(),
            CheckinHow.PASS_SCAN,
            data["nonce"],
        )
        return answer(result)


def answer(result: checkin.CheckinResult):
    """``result`` as CheckinOut documents it, with its HTTP status. Built by hand
    (``CheckinResult.as_json``): marshmallow's dump cost as much as a check-in's own statements,
    and ``jsonify`` twice ``json.dumps`` (a test keeps the answer equal to the dump)."""
    return current_app.response_class(
        json.dumps(result.as_json()), result.http_status, mimetype="application/json"
    )


@blp.route("/meetings/<int:meeting_id>/attendance")
class Attendance(MethodView):
    @blp.response(200, AttendanceOut)
    def get(self, meeting_id):
        """Live counts: registered, checked in, walk-ins, waitlist, first-timers."""
        meeting = access.organised_meeting(api_user(), meeting_id)
        counts = attendance.counts(meeting)
        return {"meeting_id": meeting.id, **vars(counts)}
