"""Organiser pages: how a meeting went (its report and networking picture) and how a group's
series goes (attendance, retention, who is drifting away, network growth).

Every figure comes from ``services.insights``, the service the API's reports use too; the
pictures are server-side SVG (``insights.picture``, ``insights.charts``). Another organiser's
meeting or group answers 404 (``services.access``).
"""

from zoneinfo import ZoneInfo

from flask import Response, render_template
from flask_login import current_user

from ...models import utcnow
from ...services import access, insights
from ...services.insights import charts, picture
from . import bp

INLINE_MAX = 400  # up to this many present, the picture sits in the page (tooltips work)


@bp.get("/meetings/<int:meeting_id>/report")
def meeting_report(meeting_id: int):
    meeting = access.organised_meeting(current_user, meeting_id)
    report = insights.meeting_report(meeting)
    present = report.checked_in
    network = insights.meeting_network(meeting) if 0 < present <= INLINE_MAX else None
    return render_template(
        "organiser/report_meeting.html",
        meeting=meeting,
        report=report,
        picture=picture.network_svg(network, names=True) if network else None,
        arrivals=charts.arrival_chart(report.arrivals) if report.arrivals else None,
        distribution=charts.distribution_chart(report.distribution) if present else None,
        newcomers=[p for p in report.met_nobody if p.first_timer],
        others=[p for p in report.met_nobody if not p.first_timer],
        now=utcnow(),
    )


@bp.get("/meetings/<int:meeting_id>/network.svg")
def meeting_network_svg(meeting_id: int):
    """The networking picture on its own (the page embeds it when the meeting is large)."""
    meeting = access.organised_meeting(current_user, meeting_id)
    svg = picture.network_svg(insights.meeting_network(meeting), names=True)
    response = Response(svg, mimetype="image/svg+xml")
    # Names of members: never kept by a shared cache, nor by this browser's.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/groups/<int:group_id>/report")
def group_report(group_id: int):
    group = access.organised_group(current_user, group_id)
    report = insights.group_report(group, utcnow())
    tz = ZoneInfo(group.default_timezone)
    return render_template(
        "organiser/report_group.html",
        group=group,
        report=report,
        tz=tz,
        attendance=charts.attendance_chart(report.meetings, tz) if report.meetings else None,
    )
