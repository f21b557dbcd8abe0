"""API v1: follow-ups — queue a meeting's follow-up emails (idempotent)."""

from flask.views import MethodView
from marshmallow import fields

from ...models import utcnow
from ...services import access, followup_mail
from ...transaction import atomic
from .auth import api_blueprint, api_user
from .schemas import Strict

blp = api_blueprint("api_followups", __name__, "Follow-ups")


class QueuedOut(Strict):
    meeting_id = fields.Integer()
    queued = fields.Integer(metadata={"description": "Emails queued by this call (0 if repeated)."})
    followups_queued_at = fields.AwareDateTime(allow_none=True)


@blp.route("/meetings/<int:meeting_id>/followups")
class MeetingFollowups(MethodView):
    @blp.response(200, QueuedOut)
    def post(self, meeting_id):
        """Queue the meeting's follow-up emails now (the meeting must have ended).

        One email per checked-in attendee who has not turned follow-up emails off. Idempotent:
        a second call queues nothing new and answers ``queued: 0``.
        """
        meeting = access.organised_meeting(api_user(), meeting_id)
        with atomic():
            queued = followup_mail.queue_followups(meeting, utcnow(), ignore_delay=True)
        return {
            "meeting_id": meeting.id,
            "queued": queued,
            "followups_queued_at": meeting.followups_queued_at,
        }
