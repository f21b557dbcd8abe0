"""Organiser pages: registering members for a meeting, cancelling, resending passes."""

from flask import flash, redirect, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ...extensions import db
from ...models import Membership, User, utcnow
from ...models.vocabularies import RegistrationStatus
from ...services import access, members, registrations
from ...services.errors import DomainError
from ...transaction import atomic
from ..forms import ActionForm
from . import bp
from .meeting_forms import RegisterMembersForm


@bp.post("/meetings/<int:meeting_id>/registrations")
def register_members(meeting_id: int):
    meeting = access.organised_meeting(current_user, meeting_id)
    form = RegisterMembersForm()
    member_ids = set(
        db.session.scalars(
            select(Membership.user_id).where(Membership.group_id == meeting.group_id)
        )
    )
    form.user_ids.choices = [SelectChoice(uid, str(uid)) for uid in member_ids]
    if not form.validate_on_submit():
        flash("Choose at least one member to register.", "error")
        return redirect(url_for(".meeting", meeting_id=meeting.id))
    chosen = db.session.scalars(select(User).where(User.id.in_(form.user_ids.data))).all()
    try:
        with atomic():  # all of them, or none
            counts = registrations.register_many(meeting, list(chosen), utcnow())
    except DomainError as exc:
        flash(f"Nobody was registered: {exc.message}", "error")
    else:
        msg = f"Registered {counts[RegistrationStatus.GOING]}."
        if counts[RegistrationStatus.WAITLIST]:
            msg += f" {counts[RegistrationStatus.WAITLIST]} on the waitlist (meeting full)."
        flash(msg + " Their passes are on the way by email.", "success")
    return redirect(url_for(".meeting", meeting_id=meeting.id))


@bp.post("/registrations/<int:registration_id>/cancel")
def cancel_registration(registration_id: int):
    reg = access.organised_registration(current_user, registration_id)
    if ActionForm().validate_on_submit():
        group_id = reg.meeting.group_id
        with atomic():
            promoted = registrations.cancel(reg, utcnow())
        flash(f"{members.person(group_id, reg.user_id).label}'s registration cancelled.", "success")
        if promoted is not None:
            name = members.person(group_id, promoted.user_id).label
            flash(f"{name} moved up from the waitlist and was emailed.", "info")
    return redirect(url_for(".meeting", meeting_id=reg.meeting_id))


@bp.post("/registrations/<int:registration_id>/resend-pass")
def resend_pass(registration_id: int):
    """Mail the pass to the member again; the organiser never sees it."""
    reg = access.organised_registration(current_user, registration_id)
    if ActionForm().validate_on_submit():
        label = members.person(reg.meeting.group_id, reg.user_id).label
        try:
            with atomic():
                queued = registrations.resend_pass(reg, utcnow())
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            if queued:
                flash(f"The pass is on its way to {label} again.", "success")
            else:
                flash(f"The pass was resent to {label} a moment ago.", "info")
    return redirect(url_for(".meeting", meeting_id=reg.meeting_id) + "#registrations")


from . import meeting_page  # noqa: E402, F401  (the meeting page's route, endpoint organiser.meeting)
