"""A meeting's shareable invitation link, ``/i/<invite_token>``.

The link is no capability: it shows the meeting (never who comes, nor who is in the group) and
lets whoever opens it ask for a sign-in link, which is mailed only to a member's own inbox.
Signed in, a member RSVPs on their meeting page (``attendee.meeting``: capacity and waitlist
as for any RSVP); anyone else is told the invitation is for the group's members.
"""

from flask import Blueprint

bp = Blueprint("invite", __name__, url_prefix="/i")

from . import routes  # noqa: E402, F401  (its routes)
