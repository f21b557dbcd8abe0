"""Organiser pages: meetings (new, copy, edit, cancel, un-cancel, delete); the meeting page is
``meeting_page``."""

from datetime import datetime, timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ...models import utcnow
from ...services import access, groups, meetings
from ...services.errors import DomainError
from ...services.meetings import MeetingDetails
from ...transaction import atomic
from ..forms import ActionForm
from . import bp
from .meeting_forms import MeetingForm


def _details(form: MeetingForm) -> MeetingDetails:
    starts = datetime.combine(form.date.data, form.start_time.data)
    ends = datetime.combine(form.date.data, form.end_time.data)
    if form.ends_next_day.data:  # asked on the form, never guessed (validate_end_time)
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
        reminder_minutes=form.reminder_minutes.data,
    )


def _fill(form: MeetingForm, details: MeetingDetails) -> None:
    form.title.data = details.title
    form.description.data = details.description
    form.venue.data = details.venue
    form.date.data = details.starts_local.date()
    form.start_time.data = details.starts_local.time()
    form.end_time.data = details.ends_local.time()
    form.ends_next_day.data = details.ends_local.date() > details.starts_local.date()
    form.timezone.data = details.timezone
    form.capacity.data = details.capacity
    form.checkin_opens_minutes.data = details.checkin_opens_minutes
    form.checkin_closes_minutes.data = details.checkin_closes_minutes
    form.followup_delay_minutes.data = details.followup_delay_minutes
    form.reminder_minutes.data = details.reminder_minutes
    _offer_reminder(form, details.reminder_minutes)


def _offer_reminder(form: MeetingForm, minutes: int | None) -> None:
    """Keep a reminder time set elsewhere (the API) selectable rather than silently changed."""
    if minutes is not None and minutes not in meetings.REMINDERS:
        form.reminder_minutes.choices.append(
            SelectChoice(str(minutes), f"{minutes} minutes before")
        )


def _show_error(form: MeetingForm, exc: DomainError) -> None:
    form.offer_duplicate = exc.code == "duplicate_meeting"
    field = {"reminder": "reminder_minutes"}.get(exc.field, exc.field)
    getattr(form, field or "title", form.title).errors.append(exc.message)


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
                    group,
                    _details(form),
                    form.recurrence.data,
                    form.count.data or 1,
                    now=utcnow(),
                    duplicate_ok=form.save_duplicate.data,
                )
        except DomainError as exc:
            _show_error(form, exc)
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
        registered=0,
    )


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
def edit_meeting(meeting_id: int):
    meeting = access.organised_meeting(current_user, meeting_id)
    form = MeetingForm()
    form.timezone.choices = groups.timezone_choices()
    if request.method == "GET":
        _fill(form, meetings.details_of(meeting))
    else:
        _offer_reminder(form, meeting.reminder_minutes)
    if form.validate_on_submit():
        try:
            with atomic():
                update = meetings.update_meeting(
                    meeting, _details(form), utcnow(), duplicate_ok=form.save_duplicate.data
                )
        except DomainError as exc:
            _show_error(form, exc)
        else:
            flash("Meeting saved.", "success")
            if update.told:
                what = " and ".join(update.changed)
                flash(f"{update.told} registered people will be emailed the new {what}.", "info")
            if update.promoted:
                flash(
                    f"{len(update.promoted)} moved up from the waitlist and were emailed.", "info"
                )
            return redirect(url_for(".meeting", meeting_id=meeting.id))
    return render_template(
        "organiser/meeting_form.html",
        form=form,
        group=meeting.group,
        meeting=meeting,
        has_last=False,
        registered=meetings.registered_count(meeting),
    )


@bp.post("/meetings/<int:meeting_id>/cancel")
def cancel_meeting(meeting_id: int):
    meeting = access.organised_meeting(current_user, meeting_id)
    if ActionForm().validate_on_submit():
        with atomic():
            told = meetings.cancel_meeting(meeting, utcnow())
        flash(f"Meeting cancelled; {told} registered people will be emailed.", "success")
    return redirect(url_for(".meeting", meeting_id=meeting.id))


@bp.post("/meetings/<int:meeting_id>/uncancel")
def uncancel_meeting(meeting_id: int):
    """Put a cancelled meeting back on; everyone still registered is told it is on again."""
    meeting = access.organised_meeting(current_user, meeting_id)
    if ActionForm().validate_on_submit():
        try:
            with atomic():
                told = meetings.uncancel_meeting(meeting, utcnow())
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(f"The meeting is on again; {told} registered people will be emailed.", "success")
    return redirect(url_for(".meeting", meeting_id=meeting.id))


@bp.post("/meetings/<int:meeting_id>/delete")
def delete_meeting(meeting_id: int):
    """Delete a meeting nobody registered for; otherwise say to cancel it instead."""
    meeting = access.organised_meeting(current_user, meeting_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for(".meeting", meeting_id=meeting.id))
    group_id, title = meeting.group_id, meeting.title
    try:
        with atomic():
            meetings.delete_meeting(meeting)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for(".meeting", meeting_id=meeting_id))
    flash(f"Meeting \u201c{title}\u201d deleted.", "success")
    return redirect(url_for(".group", group_id=group_id))
