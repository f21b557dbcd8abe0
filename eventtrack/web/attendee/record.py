"""The member's own record: meetings attended, people met (and met again), follow-ups done
against promised, goals set and done, over time, with the people behind each number.

Private to the member: a signed-in account only. A pass link is never a sign-in (DESIGN.md,
``web.actor``), so its holder is sent to sign in like anyone else.
"""

from flask import render_template
from flask_login import current_user, login_required

from ...models import utcnow
from ...services import insights
from ...services.insights import charts
from .routes import bp


@bp.get("/me/record")
@login_required
def record():
    mine = insights.member_record(current_user, utcnow())
    return render_template(
        "attendee/record.html",
        record=mine,
        chart=charts.record_chart(mine.meetings) if mine.meetings else None,
    )
