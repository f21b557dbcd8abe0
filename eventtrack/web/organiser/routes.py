"""Organiser pages: groups, members, meetings, registrations.

Every object is looked up through ``services.access``: another organiser's ids answer 404.
"""

from datetime import datetime, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ...extensions import db
from ...models import Membership, OutboxMessage, User, utcnow
from ...models.vocabularies import MailStatus, RegistrationStatus
from ...services import access, groups, meetings, members, registrations
from ...services.errors import DomainError
from ...services.meetings import MeetingDetails
from ...transaction import atomic
from ..forms import ActionForm, uploaded_text
from .forms import GroupForm, ImportForm, MeetingForm, MemberForm, RegisterMembersForm

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


@bp.route("/groups/new", methods=["GET", "POST"])
def new_group():
    form = GroupForm()
    form.timezone.choices = groups.timezone_choices()
    if form.validate_on_submit():
        with atomic():
            group = groups.create_group(
                current_user, form.name.data, form.description.data, form.timezone.data
            )
        flash(f"Group “{group.name}” created. Add members, then plan a meeting.", "success")
        return redirect(url_for(".group", group_id=group.id))
    return render_template("organiser/group_new.html", form=form)


@bp.get("/groups/<int:group_id>")
def group(group_id: int):
    group = access.organised_group(current_user, group_id)
    now = utcnow()
    return render_template(
        "organiser/group.html",
        group=group,
        upcoming=meetings.upcoming(group, now),
        past=meetings.past(group, now),
        members=members.member_views(group),
        member_form=MemberForm(),
        import_form=ImportForm(),
    )


@bp.post("/groups/<int:group_id>/members")
def add_member(group_id: int):
    group = access.organised_group(current_user, group_id)
    form = MemberForm()
    if form.validate_on_submit():
        try:
            with atomic():
                membership, created = groups.add_member(
                    group,
                    form.name.data,
                    form.email.data,
                    form.company.data,
                    added_by=current_user,
                    now=utcnow(),
                )
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            # Only what the organiser typed: never the account's own name.
            if created:
                flash(f"{membership.typed_name} added. We emailed them to say so.", "success")
            else:
                flash(f"{membership.user.email} was already a member.", "success")
            return redirect(url_for(".group", group_id=group.id) + "#members")
    for field, errors in form.errors.items():
        for error in errors:
            flash(f"{getattr(form, field).label.text}: {error}", "error")
    return redirect(url_for(".group", group_id=group.id) + "#members")


@bp.post("/groups/<int:group_id>/members/import")
def import_members(group_id: int):
    group = access.organised_group(current_user, group_id)
    form = ImportForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(url_for(".group", group_id=group.id) + "#import")
    text = uploaded_text(form.file.data)
    with atomic():  # a file with an error changes nothing (groups.import_members_csv)
        result = groups.import_members_csv(group, text, added_by=current_user, now=utcnow())
    if result.errors:
        return render_template(
            "organiser/import_errors.html", group=group, errors=result.errors
        ), 422
    flash(f"Imported: {result.added} new, {result.existing} already members.", "success")
    return redirect(url_for(".group", group_id=group.id) + "#members")


def _details(form: MeetingForm) -> MeetingDetails:
    starts = datetime.combine(form.date.data, form.start_time.data)
    ends = datetime.combine(form.date.data, form.end_time.data)
    if ends <= starts:  # an evening that runs past midnight
        ends += timedelta(days=1)
    return MeetingDetails(
        title=form.title.data,
        description=form.description.data or "",
        venue=form.venue.data or "",
        starts_local=starts,
        ends_local=ends,
        timezone=form.timezone.data,
        capacity=form.capacity.data,
        checkin_opens_minutes=form.checkin_opens_minutes.data,
        checkin_closes_minutes=form.checkin_closes_minutes.data,
        followup_delay_minutes=form.followup_delay_minutes.data,
    )


def _fill(form: MeetingForm, details: MeetingDetails) -> None:
    form.title.data = details.title
    form.description.data = details.description
    form.venue.data = details.venue
    form.date.data = details.starts_local.date()
    form.start_time.data = details.starts_local.time()
    form.end_time.data = details.ends_local.time()
    form.timezone.data = details.timezone
    form.capacity.data = details.capacity
    form.checkin_opens_minutes.data = details.checkin_opens_minutes
    form.checkin_closes_minutes.data = details.checkin_closes_minutes
    form.followup_delay_minutes.data = details.followup_delay_minutes


@bp.route("/groups/<int:group_id>/meetings/new", methods=["GET", "POST"])
def new_meeting(group_id: int):
    group = access.organised_group(current_user, group_id)
    form = MeetingForm()
    form.timezone.choices = groups.timezone_choices()
    if request.method == "GET":
        form.timezone.data = group.default_timezone
        copy = meetings.copy_of_last(group, utcnow()) if request.args.get("copy") else None
        if copy is not None:
            _fill(form, copy)
    if form.validate_on_submit():
        try:
            with atomic():
                created = meetings.create_meetings(
                    group, _details(form), form.recurrence.data, form.count.data or 1
                )
        except DomainError as exc:
            getattr(form, exc.field, form.title).errors.append(exc.message)
        else:
            if len(created) > 1:
                flash(f"{len(created)} meetings created; each can be edited on its own.", "success")
            else:
                flash("Meeting created.", "success")
            return redirect(url_for(".meeting", meeting_id=created[0].id))
    return render_template(
        "organiser/meeting_form.html",
        form=form,
        group=group,
        meeting=None,
        has_last=meetings.last_meeting(group) is not None,
    )


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
def edit_meeting(meeting_id: int):
    meeting = access.organised_meeting(current_user, meeting_id)
    form = MeetingForm()
    form.timezone.choices = groups.timezone_choices()
    if request.method == "GET":
        _fill(form, meetings.details_of(meeting))
    if form.validate_on_submit():
        try:
            with atomic():
                promoted = meetings.update_meeting(meeting, _details(form), utcnow())
        except DomainError as exc:
            getattr(form, exc.field, form.title).errors.append(exc.message)
        else:
            flash("Meeting saved.", "success")
            if promoted:
                flash(f"{len(promoted)} moved up from the waitlist and were emailed.", "info")
            return redirect(url_for(".meeting", meeting_id=meeting.id))
    return render_template(
        "organiser/meeting_form.html",
        form=form,
        group=meeting.group,
        meeting=meeting,
        has_last=False,
    )


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


@bp.post("/meetings/<int:meeting_id>/cancel")
def cancel_meeting(meeting_id: int):
    meeting = access.organised_meeting(current_user, meeting_id)
    if ActionForm().validate_on_submit():
        with atomic():
            told = meetings.cancel_meeting(meeting, utcnow())
        flash(f"Meeting cancelled; {told} registered people will be emailed.", "success")
    return redirect(url_for(".meeting", meeting_id=meeting.id))
