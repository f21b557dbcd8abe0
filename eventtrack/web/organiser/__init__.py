"""Organiser pages: groups and members (``groups``), meetings (``meetings_pages``), registrations
(``registrations``).

Every object is looked up through ``services.access``: another organiser's ids answer 404.
"""

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from ...models import utcnow
from ...services import access, meetings

bp = Blueprint("organiser", __name__, url_prefix="/organise")


@bp.before_request
@login_required
def require_login():
    """Every organiser page needs a signed-in user; ownership is checked per object."""


@bp.get("/")
def home():
    """The groups I organise with their next meetings; archived ones apart, below."""
    now = utcnow()
    my_groups = access.organised_groups(current_user)
    active = [g for g in my_groups if g.archived_at is None]
    archived = [g for g in my_groups if g.archived_at is not None]
    upcoming = {g.id: meetings.upcoming(g, now)[:3] for g in active}
    return render_template(
        "organiser/home.html", groups=active, archived=archived, upcoming=upcoming
    )


from . import groups, meetings_pages, registrations, reports  # noqa: E402, F401  (their routes)
