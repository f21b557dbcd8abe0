"""Check-in at the door (issue #3): organiser scanner, kiosk, poster, manual, live door view,
and the attendee's self check-in reached from the kiosk or poster QR."""

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from ...links import external_url
from ...models import utcnow
from ...models.vocabularies import CheckinHow, MeetingStatus
from ...services import access, attendance, checkin, kiosk, passes, rules
from ...services.errors import Invalid
from ...transaction import atomic
from .. import ratelimit
from ..actor import member_at
from ..forms import ActionForm
from .forms import PassCheckinForm, SelfCheckinForm, WalkInForm

bp = Blueprint("door", __name__, url_prefix="/door")

NO_STORE = {"Cache-Control": "no-store"}


def _meeting(meeting_id: int):
    return access.organised_meeting(current_user, meeting_id)


# --- Organiser: live door view ------------------------------------------------------------


@bp.get("/m/<int:meeting_id>")
@login_required
def live(meeting_id: int):
    meeting = _meeting(meeting_id)
    context = dict(
        meeting=meeting,
        counts=attendance.counts(meeting),
        feed=attendance.feed(meeting),
        first_timers=attendance.first_timers(meeting),
    )
    if request.args.get("partial"):
        return render_template("door/_live.html", **context), NO_STORE
    return render_template("door/live.html", **context)


# --- Organiser: phone scanner -------------------------------------------------------------


@bp.get("/m/<int:meeting_id>/scan")
@login_required
def scanner(meeting_id: int):
    meeting = _meeting(meeting_id)
    return render_template("door/scanner.html", meeting=meeting, mode="checkin")


@bp.post("/m/<int:meeting_id>/scan")
@login_required
def scan(meeting_id: int):
    """JSON for the scanner page (cookie session + X-CSRFToken, checked by Flask-WTF)."""
    meeting = _meeting(meeting_id)
    data = request.get_json(silent=True)
    code = data.get("code") if isinstance(data, dict) else None
    nonce = data.get("nonce") if isinstance(data, dict) else None
    if not isinstance(code, str) or not (nonce is None or isinstance(nonce, str)):
        return jsonify(status="error", message='Send JSON {"code": "…", "nonce": "…"}.'), 400
    try:
        result = checkin.check_in(
            meeting.id, code, current_user.id, utcnow(), CheckinHow.PASS_SCAN, nonce
        )
    except Invalid as exc:
        return jsonify(status="error", message=exc.message), 422
    return jsonify(result.as_json(meeting)), result.http_status


@bp.post("/pass")
@login_required
def checkin_pass():
    """One tap on a pass page an organiser opened with the phone's own camera app."""
    form = PassCheckinForm()
    if not form.validate_on_submit():
        abort(400)
    result = checkin.check_in(
        None, form.token.data, current_user.id, utcnow(), CheckinHow.PASS_SCAN
    )
    reg = (
        access.organised_registration(current_user, result.registration_id)
        if (result.registration_id)
        else None
    )
    return render_template("door/pass_result.html", result=result, reg=reg), result.http_status


# --- Organiser: manual list, walk-ins, undo -----------------------------------------------


@bp.get("/m/<int:meeting_id>/manual")
@login_required
def manual(meeting_id: int):
    meeting = _meeting(meeting_id)
    query = request.args.get("q", "")
    context = dict(
        meeting=meeting,
        query=query,
        results=attendance.search(meeting, query),
        action_form=ActionForm(),
    )
    if request.args.get("partial"):
        return render_template("door/_results.html", **context), NO_STORE
    return render_template(
        "door/manual.html",
        walk_in_form=WalkInForm(),
        counts=attendance.counts(meeting),
        **context,
    )


def _back_to_manual(meeting_id: int):
    return redirect(url_for(".manual", meeting_id=meeting_id, q=request.form.get("q", "")))


def _flash_result(result: checkin.CheckinResult) -> None:
    category = {
        checkin.CHECKED_IN: "success",
        checkin.UNDONE: "info",
        checkin.ALREADY_CHECKED_IN: "info",
    }
    message = result.message
    if result.status == checkin.CHECKED_IN and result.first_time:
        message += " — first time at this group: say hello!"
    flash(message, category.get(result.status, "error"))


@bp.post("/registrations/<int:registration_id>/checkin")
@login_required
def manual_checkin(registration_id: int):
    reg = access.organised_registration(current_user, registration_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    _flash_result(checkin.check_in_registration(reg, current_user, utcnow()))
    return _back_to_manual(reg.meeting_id)


@bp.post("/registrations/<int:registration_id>/undo")
@login_required
def undo(registration_id: int):
    reg = access.organised_registration(current_user, registration_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with atomic():
        result = checkin.undo(reg, current_user, utcnow())
    _flash_result(result)
    return _back_to_manual(reg.meeting_id)


@bp.post("/m/<int:meeting_id>/walk-in")
@login_required
def walk_in(meeting_id: int):
    meeting = _meeting(meeting_id)
    form = WalkInForm()
    if form.validate_on_submit():
        try:
            result = checkin.walk_in(
                meeting,
                form.name.data,
                form.email.data,
                current_user,
                utcnow(),
                company=form.company.data or "",
            )
        except Invalid as exc:
            getattr(form, exc.field or "email", form.email).errors.append(exc.message)
        else:
            _flash_result(result)
            return redirect(url_for(".manual", meeting_id=meeting.id))
    return render_template(
        "door/manual.html",
        meeting=meeting,
        query="",
        results=attendance.search(meeting, ""),
        action_form=ActionForm(),
        walk_in_form=form,
        counts=attendance.counts(meeting),
    ), 422


# --- Organiser: kiosk screen and printed poster -------------------------------------------


@bp.get("/m/<int:meeting_id>/kiosk")
@login_required
def kiosk_page(meeting_id: int):
    meeting = _meeting(meeting_id)
    now = utcnow()
    return render_template(
        "door/kiosk.html",
        meeting=meeting,
        refresh_in=kiosk.seconds_to_next_step(now),
        step=kiosk.STEP_SECONDS,
        counts=attendance.counts(meeting),
    )


def _qr_response(url: str, cache: bool) -> Response:
    headers = {"Cache-Control": "private, max-age=3600"} if cache else NO_STORE
    return Response(passes.qr_svg(url), mimetype="image/svg+xml", headers=headers)


@bp.get("/m/<int:meeting_id>/kiosk/qr.svg")
@login_required
def kiosk_qr(meeting_id: int):
    code = kiosk.kiosk_code(_meeting(meeting_id), utcnow())
    return _qr_response(external_url("door.self_checkin", code=code), cache=False)


@bp.get("/m/<int:meeting_id>/poster")
@login_required
def poster(meeting_id: int):
    meeting = _meeting(meeting_id)
    url = external_url("door.self_checkin", code=kiosk.poster_code(meeting))
    return render_template("door/poster.html", meeting=meeting, url=url)


@bp.get("/m/<int:meeting_id>/poster/qr.svg")
@login_required
def poster_qr(meeting_id: int):
    code = kiosk.poster_code(_meeting(meeting_id))
    return _qr_response(external_url("door.self_checkin", code=code), cache=True)


# --- Attendees: self check-in from the kiosk or poster QR ---------------------------------


@bp.get("/scan-in")
def attendee_scanner():
    """A camera page for phones whose camera app does not open QR links."""
    return render_template("door/scanner.html", meeting=None, mode="navigate")


def _not_open(meeting, now):
    """The door's own page for a code used outside the check-in window: when it opens (or
    that it has closed), not an error code. Still 409: nothing was checked in."""
    return render_template(
        "door/not_open.html",
        meeting=meeting,
        early=now < meeting.checkin_opens_at,
        same_day=meeting.local(now).date() == meeting.local(meeting.checkin_opens_at).date(),
        cancelled=meeting.status == MeetingStatus.CANCELLED,
    ), 409


@bp.route("/in/<code>", methods=["GET", "POST"])
@ratelimit.kiosk_by_email
def self_checkin(code: str):
    now = utcnow()
    form = SelfCheckinForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            if not form.ticket.data:
                abort(400)
            grant = kiosk.verify_ticket(form.ticket.data)
            return render_template("door/self_checkin.html", form=form, meeting=grant.meeting), 422
        grant = kiosk.verify_ticket(form.ticket.data)
        try:
            result = checkin.self_check_in_by_email(
                grant.meeting,
                form.name.data,
                form.email.data,
                now,
                grant.how,
                nonce=grant.nonce,
                next_url=url_for("attendee.meeting", meeting_id=grant.meeting.id),
            )
        except Invalid as exc:
            getattr(form, exc.field or "email", form.email).errors.append(exc.message)
            return render_template("door/self_checkin.html", form=form, meeting=grant.meeting), 422
        if result.status == checkin.NOT_OPEN and not rules.check_in_open(grant.meeting, now):
            return _not_open(grant.meeting, now)
        # Whoever typed the address may not own it: answer with what they typed, nothing more.
        return render_template(
            "door/self_done.html",
            meeting=grant.meeting,
            ok=result.ok,
            waitlisted=result.waitlisted,
            typed_name=form.name.data,
            by_email=True,
        )
    try:
        grant = kiosk.verify(code, now)
    except kiosk.CodeRejected as exc:
        if exc.meeting is None:
            raise
        return _not_open(exc.meeting, now)
    me = member_at(grant.meeting.id)  # signed in, or holding this meeting's pass
    # None: not signed in, or no registration here; they give their email below.
    result = checkin.self_check_in(grant.meeting, me, now, grant.how) if me else None
    closed = not rules.check_in_open(grant.meeting, now)
    if result is not None and result.status == checkin.NOT_OPEN and closed:
        return _not_open(grant.meeting, now)
    if result is not None:
        return render_template(
            "door/self_done.html",
            meeting=grant.meeting,
            ok=result.ok,
            result=result,
            by_email=False,
        ), (200 if result.ok else 409)
    form.ticket.data = kiosk.ticket_for(grant)
    return render_template("door/self_checkin.html", form=form, meeting=grant.meeting)
