"""Organiser pages: how a meeting went (its report and networking picture) and how a group's
series goes (attendance, retention, who is drifting away, network growth).

Every figure comes from ``services.insights``, the service the API's reports use too; the
pictures are server-side SVG (``insights.picture``, ``insights.charts``). Another organiser's
meeting or group answers 404 (``services.access``).
"""

from zoneinfo import ZoneInfo

from flask import Response, redirect, render_template, url_for
from flask_login import current_user
from wtforms import SubmitField

from ...models import utcnow
from ...services import access, insights, reach_out
from ...services.insights import charts, picture
from . import bp
from .meeting_forms import MessageForm
from .registrations import send_message

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


class DriftingMessageForm(MessageForm):
    """The organisers' message to the members drifting away (``services.reach_out``)."""

    submit = SubmitField("Send to everyone drifting away")


@bp.route("/groups/<int:group_id>/message-drifting", methods=["GET", "POST"])
def message_drifting(group_id: int):
    """Write to every member drifting away, inviting them to the next meeting (outbox)."""
    group = access.organised_group(current_user, group_id)
    form = DriftingMessageForm()
    now = utcnow()
    if form.validate_on_submit() and send_message(
        form, lambda subject, body: reach_out.message_drifting(group, subject, body, now)
    ):
        return redirect(url_for(".group_report", group_id=group.id) + "#drifting")
    found = reach_out.drifting(group, now)
    if not form.is_submitted():
        form.subject.data = f"We miss you at {group.name}"
        if found.next_meeting is not None:
            when = found.next_meeting.local(found.next_meeting.starts_at)
            form.body.data = (
                f"We haven't seen you for a while. Our next meeting is "
                f"{found.next_meeting.title}, on {when.strftime('%A %d %B at %H:%M')}: "
                f"we would love to see you there."
            )
    return render_template(
        "organiser/report_message_drifting.html", group=group, form=form, found=found
    ), 422 if form.errors else 200
