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
    now = utcnow()
    my_groups = access.organised_groups(current_user)
    upcoming = {g.id: meetings.upcoming(g, now)[:3] for g in my_groups}
    return render_template("organiser/home.html", groups=my_groups, upcoming=upcoming)


from . import groups, meetings_pages, registrations  # noqa: E402, F401  (their routes)
