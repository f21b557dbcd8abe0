"""Organiser pages: the meeting page (registrations, mail states, inviting)."""

from flask import render_template
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ...extensions import db
from ...models import OutboxMessage, utcnow
from ...models.vocabularies import MailStatus, RegistrationStatus
from ...services import access, meetings, members, registrations
from ..forms import ActionForm
from . import bp
from .meeting_forms import RegisterMembersForm


@bp.get("/meetings/<int:meeting_id>")
def meeting(meeting_id: int):
    meeting = access.organised_meeting(current_user, meeting_id)
    regs = registrations.for_organisers(meeting)
    registered = {r.user_id for r in regs if r.status != RegistrationStatus.CANCELLED}
    form = RegisterMembersForm()
    form.user_ids.choices = [
        SelectChoice(m.user_id, f"{m.user.label} <{m.user.email}>")
        for m in members.member_views(meeting.group)
        if m.user_id not in registered
    ]
    failed_mail = list(
        db.session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.meeting_id == meeting.id, OutboxMessage.status == MailStatus.FAILED
            )
            .order_by(OutboxMessage.id.desc())
            .limit(50)
        )
    )
    return render_template(
        "organiser/meeting.html",
        meeting=meeting,
        registrations=regs,
        counts=meetings.counts(meeting),
        register_form=form,
        action_form=ActionForm(),
        failed_mail=failed_mail,
        now=utcnow(),
    )
