"""API v1: who met whom at a meeting (issue #4). Organisers' integrations; never notes."""

from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from ...models import utcnow
from ...models.connection import HOWS
from ...models.vocabularies import ConnectionHow
from ...services import access, connections
from ...transaction import atomic
from .auth import api_blueprint, api_user
from .schemas import Strict, id_field

blp = api_blueprint(
    "api_connections",
    __name__,
    "Who met whom at a meeting. Notes are private to attendees and never listed.",
)


class ConnectionIn(Strict):
    a = id_field(required=True, metadata={"description": "A registration id."})
    b = id_field(required=True, metadata={"description": "Another registration id."})
    how = fields.String(
        load_default=ConnectionHow.ORGANISER_ROUND.value,
        validate=validate.OneOf(HOWS),
        metadata={
            "description": "How they met, as the integration knows it. Default "
            "`organiser_round`: the organiser (or their tool) put them together."
        },
    )

    @validates_schema
    def different(self, data, **kwargs):
        if data.get("a") == data.get("b"):
            raise ValidationError("a and b must be two different registrations.", "b")


class PartyOut(Strict):
    registration_id = fields.Integer(allow_none=True)
    user_id = fields.Integer()
    name = fields.String()


class ConnectionOut(Strict):
    id = fields.Integer()
    meeting_id = fields.Integer()
    a = fields.Nested(PartyOut)
    b = fields.Nested(PartyOut)
    how = fields.String()
    created_at = fields.AwareDateTime()


class ConnectionsOut(Strict):
    connections = fields.List(fields.Nested(ConnectionOut))


def _out(meeting_id: int, pair: connections.Pair) -> dict:
    return {
        "id": pair.id,
        "meeting_id": meeting_id,
        "a": {"registration_id": pair.a_registration_id, "user_id": pair.a.id, "name": pair.a.name},
        "b": {"registration_id": pair.b_registration_id, "user_id": pair.b.id, "name": pair.b.name},
        "how": pair.how,
        "created_at": pair.created_at,
    }


@blp.route("/meetings/<int:meeting_id>/connections")
class Connections(MethodView):
    @blp.response(200, ConnectionsOut)
    def get(self, meeting_id):
        """List who met whom at the meeting, with how and when (never notes)."""
        meeting = access.organised_meeting(api_user(), meeting_id)
        return {"connections": [_out(meeting.id, p) for p in connections.pairs(meeting)]}

    @blp.arguments(ConnectionIn)
    @blp.response(201, ConnectionOut, description="Recorded.")
    @blp.alt_response(200, schema=ConnectionOut, description="This pair was already recorded.")
    def post(self, data, meeting_id):
        """Record that two checked-in attendees met (registration ids); idempotent per pair.

        Both must be checked in at this meeting (409 `not_checked_in` otherwise); a registration
        of another meeting is 422 `not_this_meeting`.
        """
        meeting = access.organised_meeting(api_user(), meeting_id)
        with atomic():
            conn, created = connections.record_by_organiser(
                meeting, api_user(), data["a"], data["b"], utcnow(), data["how"]
            )
            pair = connections.pair_of(conn)
        return _out(meeting.id, pair), 201 if created else 200
