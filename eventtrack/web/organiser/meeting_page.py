"""Organiser pages: the meeting page.

It must stay light at 5,000 registrations: one page of registrations (searchable), one page of
the members not registered yet (searchable, to tick), the mail's counts and latest few; a
constant number of queries whatever the size (tests/web/test_page_scale.py counts them).
"""

from flask import render_template, request
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ...models import utcnow
from ...models.vocabularies import MeetingStatus
from ...services import access, invitations, meetings, messages, registration_views
from ..forms import ActionForm
from . import bp
from .meeting_forms import RegisterMembersForm

PER_PAGE = 50  # registrations shown at once
TICK_PER_PAGE = 30  # members listed to tick at once
MAIL_SHOWN = 15  # latest mails listed
QUERY_MAX = 100  # a longer search is cut here (a search box, not a field that is saved)


def _int_arg(name: str) -> int:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 7 else 1


@bp.get("/meetings/<int:meeting_id>")
def meeting(meeting_id: int):
    meeting = access.organised_meeting(current_user, meeting_id)
    now = utcnow()
    is_open = meeting.status == MeetingStatus.SCHEDULED and meeting.ends_at > now
    query = request.args.get("q", "")[:QUERY_MAX]
    member_query = request.args.get("mq", "")[:QUERY_MAX]
    regs = registration_views.registrations_page(meeting, query, _int_arg("page"), PER_PAGE)
    to_tick = None
    register_form = RegisterMembersForm()
    if is_open:
        to_tick = registration_views.unregistered_page(
            meeting, member_query, _int_arg("mpage"), TICK_PER_PAGE
        )
        register_form.user_ids.choices = [
            SelectChoice(p.id, f"{p.label} · {p.email}") for p in to_tick.items
        ]
    return render_template(
        "organiser/meeting.html",
        meeting=meeting,
        counts=meetings.counts(meeting),
        registrations=regs,
        query=query,
        member_query=member_query,
        to_tick=to_tick,
        unregistered=registration_views.unregistered_count(meeting) if is_open else 0,
        register_form=register_form,
        action_form=ActionForm(),
        mail=messages.mail_states(meeting, MAIL_SHOWN),
        invite_url=invitations.invite_url(meeting),
        is_open=is_open,
        now=now,
    )
