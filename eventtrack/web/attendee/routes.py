"""Member pages, phone first: home, pass, meeting RSVP, profile, one-click unsubscribe."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ...extensions import csrf, db
from ...models import Meeting, utcnow
from ...models.vocabularies import MeetingStatus, RegistrationStatus
from ...services import (
    access,
    accounts,
    followups,
    meetings,
    passes,
    profiles,
    registrations,
)
from ...services.errors import DomainError, NotFound
from ...transaction import atomic
from .. import ratelimit
from ..actor import remember_pass
from ..auth.forms import ConfirmForm as PassLinkForm
from .forms import ProfileForm, RsvpForm, UnsubscribeForm

bp = Blueprint("attendee", __name__)

YEAR = 365 * 24 * 3600


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return render_template("attendee/landing.html")
    now = utcnow()
    mine = [r for r in registrations.of_user(current_user) if r.meeting.ends_at >= now]
    registered = {r.meeting_id for r in mine}
    open_meetings = [
        m
        for m in meetings.members_meetings(current_user, now)
        if m.id not in registered and m.status == MeetingStatus.SCHEDULED
    ]
    return render_template(
        "attendee/home.html",
        registrations=mine,
        open_meetings=open_meetings,
        organised=access.organised_groups(current_user),
    )


def _pass(token: str):
    """The registration ``token`` names and whether its link still works, or 404."""
    reg = access.registration_by_pass(token)
    if reg is None:
        raise NotFound("pass")
    return reg, utcnow() < access.pass_expires_at(reg.meeting)


def _expired(reg):
    return render_template(
        "attendee/pass_expired.html", meeting=reg.meeting, form=PassLinkForm(), token=reg.pass_token
    ), 410


@bp.get("/p/<token>")
def pass_page(token: str):
    reg, usable = _pass(token)
    if not usable:
        return _expired(reg)
    is_owner = current_user.is_authenticated and current_user.id == reg.user_id
    organiser_view = not is_owner and access.is_organiser(current_user, reg.meeting.group_id)
    someone_else = current_user.is_authenticated and not is_owner and not organiser_view
    holder = not current_user.is_authenticated
    if holder:
        # Not a sign-in: this browser may act for this registration at this meeting only
        # (web.actor). A signed-in browser keeps its own account; a link someone sends you
        # must not swap your account for theirs.
        remember_pass(reg)
    over = reg.meeting.ends_at <= utcnow()
    # After the meeting the pass leads with what it is for now: the follow-up list, which
    # only its owner (signed in, or holding the pass) may see.
    followup = (
        followups.followup_list(reg.meeting, reg.user)
        if over and (is_owner or holder) and reg.status != RegistrationStatus.CANCELLED
        else None
    )
    return render_template(
        "attendee/pass.html",
        reg=reg,
        meeting=reg.meeting,
        is_owner=is_owner,
        holder=holder,
        organiser_view=organiser_view,
        someone_else=someone_else,
        pass_url=registrations.pass_url(reg),
        over=over,
        followup=followup,
    )


@bp.get("/p/<token>/followups")
def pass_followups(token: str):
    """The link in follow-up emails: that meeting's follow-up list, through the pass."""
    reg, usable = _pass(token)
    if not usable:
        return _expired(reg)
    if not current_user.is_authenticated:
        remember_pass(reg)
    elif current_user.id != reg.user_id:
        return redirect(url_for(".pass_page", token=token))
    return redirect(url_for("followups.meeting_list", meeting_id=reg.meeting_id))


@bp.post("/p/<token>/sign-in-link")
@ratelimit.pass_mail_link
def pass_sign_in_link(token: str):
    """An expired pass offers a sign-in link, mailed to the pass's own inbox (never shown)."""
    reg, _ = _pass(token)
    if not PassLinkForm().validate_on_submit():
        abort(400)
    with atomic():
        accounts.request_login_link(
            reg.user.email,
            utcnow(),
            url_for("followups.meeting_list", meeting_id=reg.meeting_id),
        )
    return render_template("attendee/pass_link_sent.html", meeting=reg.meeting)


@bp.get("/p/<token>/qr.svg")
def pass_qr(token: str):
    reg, usable = _pass(token)
    if not usable:
        return _expired(reg)
    response = Response(passes.qr_svg(registrations.pass_url(reg)), mimetype="image/svg+xml")
    # A token's QR never changes: let phones keep it (private: the token is a capability).
    response.headers["Cache-Control"] = f"private, max-age={YEAR}, immutable"
    response.set_etag(reg.pass_token)
    return response.make_conditional(request)


@bp.get("/p/<token>/calendar.ics")
def pass_ics(token: str):
    reg, usable = _pass(token)
    if not usable:
        return _expired(reg)
    return Response(
        passes.ics(reg, utcnow()),
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="meeting-{reg.meeting_id}.ics"'},
    )


@bp.get("/m/<int:meeting_id>")
@login_required
def meeting(meeting_id: int):
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or access.member_of(current_user, meeting.group_id) is None:
        raise NotFound("meeting")
    return render_template(
        "attendee/meeting.html",
        meeting=meeting,
        reg=registrations.registration_for(meeting, current_user),
        counts=meetings.counts(meeting),
        form=RsvpForm(),
        now=utcnow(),
        # "I can't make it" asks first: this page again, with the question and one button.
        confirm_cancel=request.args.get("cancel") == "1",
    )


@bp.post("/m/<int:meeting_id>/rsvp")
@login_required
def rsvp(meeting_id: int):
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or access.member_of(current_user, meeting.group_id) is None:
        raise NotFound("meeting")
    form = RsvpForm()
    going, cancelled = RegistrationStatus.GOING, RegistrationStatus.CANCELLED
    if not form.validate_on_submit() or form.status.data not in (going, cancelled):
        abort(400)
    now = utcnow()
    try:
        with atomic():
            if form.status.data == going:
                reg, _ = registrations.register(meeting, current_user, now, by_member=True)
            else:
                reg = registrations.registration_for(meeting, current_user)
                if reg is not None and reg.status != RegistrationStatus.CANCELLED:
                    registrations.cancel(reg, now, tell_member=True)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for(".meeting", meeting_id=meeting.id))
    if form.status.data == going:
        if reg.status == RegistrationStatus.WAITLIST:
            flash(
                "The meeting is full: you are on the waitlist and will hear if a place opens up.",
                "info",
            )
        else:
            flash("You're going. Your pass is below and on its way by email.", "success")
        return redirect(url_for(".pass_page", token=reg.pass_token))
    if reg is not None:
        flash(
            "Your registration is cancelled; we've emailed you a confirmation. "
            "Changed your mind? RSVP again.",
            "info",
        )
    return redirect(url_for(".meeting", meeting_id=meeting.id))


@bp.route("/me", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        data = {k: v for k, v in form.data.items() if k not in ("submit", "csrf_token")}
        try:
            with atomic():
                profiles.update_profile(current_user, current_user, **data)
        except DomainError as exc:
            getattr(form, exc.field or "name").errors.append(exc.message)
        else:
            flash("Profile saved.", "success")
            return redirect(url_for(".profile"))
    return render_template("attendee/profile.html", form=form)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: the mail client POSTs without our form; the token is the key.
def unsubscribe(token: str):
    user = accounts.user_for_unsubscribe_token(token)
    if user is None:
        raise NotFound("subscription")
    if request.method == "POST":
        with atomic():
            profiles.unsubscribe(user)
        return render_template("attendee/unsubscribed.html", user=user)
    return render_template("attendee/unsubscribe.html", user=user, form=UnsubscribeForm())


from . import record  # noqa: E402, F401  (the member's own record, /me/record)
