"""Organiser pages: registering members for a meeting (ticked, or everyone), cancelling,
resending passes; inviting (announce), messaging the attendees, the registrations' CSV."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ...extensions import db
from ...models import Membership, User, utcnow
from ...models.vocabularies import RegistrationStatus
from ...services import access, exports, invitations, members, messages, registrations
from ...services.errors import DomainError
from ...transaction import atomic
from ..downloads import csv_download
from ..forms import ActionForm
from . import bp
from .meeting_forms import MessageAttendeesForm, RegisterMembersForm


def _registered_message(counts: dict) -> str:
    msg = f"Registered {counts[RegistrationStatus.GOING]}."
    if counts[RegistrationStatus.WAITLIST]:
        msg += f" {counts[RegistrationStatus.WAITLIST]} on the waitlist (meeting full)."
    return msg + " Their passes are on the way by email."


@bp.post("/meetings/<int:meeting_id>/registrations")
def register_members(meeting_id: int):
    """Register the members ticked in the searched list: all of them, or none."""
    meeting = access.organised_meeting(current_user, meeting_id)
    form = RegisterMembersForm()
    member_ids = db.session.scalars(
        select(Membership.user_id).where(Membership.group_id == meeting.group_id)
    )
    form.user_ids.choices = [SelectChoice(uid, str(uid)) for uid in member_ids]
    if not form.validate_on_submit():
        flash("Tick at least one member of the group to register.", "error")
        return redirect(url_for(".meeting", meeting_id=meeting.id) + "#register")
    chosen = db.session.scalars(select(User).where(User.id.in_(form.user_ids.data))).all()
    try:
        with atomic():  # all of them, or none
            counts = registrations.register_many(meeting, list(chosen), utcnow())
    except DomainError as exc:
        flash(f"Nobody was registered: {exc.message}", "error")
    else:
        flash(_registered_message(counts), "success")
    return redirect(url_for(".meeting", meeting_id=meeting.id))


@bp.post("/meetings/<int:meeting_id>/register-everyone")
def register_everyone(meeting_id: int):
    """Register every member not registered yet: one action, all or none."""
    meeting = access.organised_meeting(current_user, meeting_id)
    if ActionForm().validate_on_submit():
        try:
            with atomic():
                counts = registrations.register_everyone(meeting, utcnow())
        except DomainError as exc:
            flash(f"Nobody was registered: {exc.message}", "error")
        else:
            if counts[RegistrationStatus.GOING] + counts[RegistrationStatus.WAITLIST]:
                flash(_registered_message(counts), "success")
            else:
                flash("Every member is registered already.", "info")
    return redirect(url_for(".meeting", meeting_id=meeting.id))


@bp.post("/registrations/<int:registration_id>/cancel")
def cancel_registration(registration_id: int):
    reg = access.organised_registration(current_user, registration_id)
    if ActionForm().validate_on_submit():
        group_id = reg.meeting.group_id
        now = utcnow()
        with atomic():
            promoted = registrations.cancel(reg, now, by_organiser=True)
        label = members.person(group_id, reg.user_id).label
        told = registrations.organiser_cancel_is_mailed(reg.meeting, now)
        flash(
            f"{label}'s registration cancelled" + ("; they are told by email." if told else "."),
            "success",
        )
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


@bp.post("/meetings/<int:meeting_id>/announce")
def announce_meeting(meeting_id: int):
    """Mail the meeting and its invitation link to every member (once each)."""
    meeting = access.organised_meeting(current_user, meeting_id)
    if ActionForm().validate_on_submit():
        try:
            with atomic():
                queued = invitations.announce(meeting, utcnow())
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            if queued:
                flash(f"Announced: {queued} members will get the invitation by email.", "success")
            else:
                flash("Every member who takes emails was told already.", "info")
    return redirect(url_for(".meeting", meeting_id=meeting.id) + "#invite")


def send_message(form, queue) -> bool:
    """Queue the message of ``form`` (a ``MessageForm``) with ``queue(subject, body)`` in one
    transaction and say how many it went to; False, with the problem next to its field, when
    the service refused it."""
    try:
        with atomic():
            queued = queue(form.subject.data, form.body.data)
    except DomainError as exc:
        getattr(form, exc.field or "body").errors.append(exc.message)
        return False
    if queued:
        flash(f"Message queued for {queued} people.", "success")
    else:
        flash("Nobody new to send it to: nobody matches, or they have it already.", "info")
    return True


@bp.route("/meetings/<int:meeting_id>/message", methods=["GET", "POST"])
def message_attendees(meeting_id: int):
    """Write to the registered, the checked in or the no-shows: mailed through the outbox."""
    meeting = access.organised_meeting(current_user, meeting_id)
    form = MessageAttendeesForm()
    if form.validate_on_submit() and send_message(
        form,
        lambda subject, body: messages.message_attendees(
            meeting, form.audience.data, subject, body, utcnow()
        ),
    ):
        return redirect(url_for(".meeting", meeting_id=meeting.id) + "#mail")
    return render_template(
        "organiser/message_attendees.html", meeting=meeting, form=form, now=utcnow()
    ), 422 if form.errors else 200


@bp.get("/meetings/<int:meeting_id>/registrations.csv")
def registrations_csv(meeting_id: int):
    """The registrations with attendance, as CSV (formula-safe, ``services.exports``)."""
    meeting = access.organised_meeting(current_user, meeting_id)
    return csv_download(exports.registrations_csv(meeting), exports.registrations_filename(meeting))


from . import meeting_page  # noqa: E402, F401  (the meeting page's route, endpoint organiser.meeting)
