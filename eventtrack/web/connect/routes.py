"""Who met whom at the event (issue #4): connect codes, people here, suggestions, notes.

Attendee pages are phone first and work without JavaScript. GET never changes state, except
that the event page creates the attendee's own connect code on first view (invisible, once).
"""

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ...extensions import db
from ...models import Connection, Meeting, utcnow
from ...models.vocabularies import ConnectionHow, RegistrationStatus
from ...services import access, connections, passes, registrations, suggestions
from ...services.errors import DomainError, NotFound
from ...transaction import atomic
from .. import ratelimit
from ..actor import member_at, require_member_at
from ..forms import ActionForm, uploaded_text
from .forms import NoteForm, RoundsForm, WeMetForm

bp = Blueprint("connect", __name__)

YEAR = 365 * 24 * 3600


def _my_event(meeting_id: int):
    """The meeting, who acts there (signed in, or this meeting's pass holder) and their (not
    cancelled) registration at it; sign-in page if nobody, 404 if not theirs."""
    me = require_member_at(meeting_id)
    meeting = db.session.get(Meeting, meeting_id)
    reg = None if meeting is None else registrations.registration_for(meeting, me)
    if reg is None or reg.status == RegistrationStatus.CANCELLED:
        raise NotFound("event")
    return meeting, reg, me


@bp.get("/e/<int:meeting_id>")
def event(meeting_id: int):
    meeting, reg, me = _my_event(meeting_id)
    code = None  # not checked in (yet): the page says so
    if connections.attending(meeting, me) is not None:
        with atomic():  # the attendee's own connect code, created on its first view
            code = connections.code_for(reg, utcnow())
    return render_template(
        "connect/event.html",
        meeting=meeting,
        reg=reg,
        code=code,
        suggestions=suggestions.who_to_meet(meeting, me) if code else [],
        met=connections.met_at(meeting, me),
        form=ActionForm(),
    )


@bp.get("/c/<token>/qr.svg")
def code_qr(token: str):
    connections.resolve_code(token)
    svg = passes.qr_svg(connections.connect_url(token))
    response = Response(svg, mimetype="image/svg+xml")
    # A code's QR never changes: let phones and proxies keep it.
    response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    response.set_etag(token)
    return response.make_conditional(request)


def _card(token: str, form: WeMetForm, problem: str | None = None, status: int = 200):
    """The page a scanned connect code opens: the person's card and "We met"."""
    try:
        reg = connections.resolve_code(token)
    except DomainError as exc:
        return render_template("connect/problem.html", message=exc.message), exc.status
    meeting, person = reg.meeting, reg.user
    me = member_at(meeting.id)
    if me is None:
        return render_template("connect/sign_in.html", meeting=meeting, token=token), 200
    mine = registrations.registration_for(meeting, me)
    # Only people registered for the same meeting see the card; others get the reason alone.
    show_card = me.id == person.id or (
        mine is not None and mine.status != RegistrationStatus.CANCELLED
    )
    if problem is None:
        try:
            connections.check_pair(meeting, me, person, utcnow())
        except DomainError as exc:
            problem = exc.message
    already = person.id in connections.met_ids(meeting, me)
    return render_template(
        "connect/card.html",
        meeting=meeting,
        person=person if show_card else None,
        token=token,
        form=form,
        problem=problem,
        already=already,
        contact=connections.contact_of(person, me) if show_card else None,
    ), status


@bp.get("/c/<token>")
@ratelimit.lookup
def card(token: str):
    return _card(token, WeMetForm(formdata=None))


@bp.post("/c/<token>")
@ratelimit.lookup
def we_met(token: str):
    try:
        me = member_at(connections.resolve_code(token).meeting_id)
    except DomainError:
        return _card(token, WeMetForm(formdata=None))  # says what is wrong with the code
    if me is None:
        return redirect(url_for(".card", token=token))
    form = WeMetForm()
    if not form.validate_on_submit():
        return _card(token, form, None, 422)
    try:
        with atomic():
            conn, created, other = connections.record_scan(token, me, form.note.data, utcnow())
    except DomainError as exc:
        return _card(token, form, exc.message, exc.status)
    flash(
        f"Saved: you met {other.name}." if created else f"You had already met {other.name}.",
        "success",
    )
    return redirect(url_for(".event", meeting_id=conn.meeting_id) + "#met")


@bp.get("/e/<int:meeting_id>/here")
@ratelimit.lookup
def here(meeting_id: int):
    meeting, _, me = _my_event(meeting_id)
    query = request.args.get("q", "")
    problem, people = None, []
    try:
        people = connections.people_here(meeting, me, query)
    except DomainError as exc:
        problem = exc.message
    return render_template(
        "connect/here.html",
        meeting=meeting,
        people=people,
        query=query,
        problem=problem,
        form=ActionForm(),
    )


@bp.post("/e/<int:meeting_id>/met/<int:user_id>")
@ratelimit.lookup
def met_from_list(meeting_id: int, user_id: int):
    meeting, _, me = _my_event(meeting_id)
    back = request.form.get("back") == "event"
    target = (
        url_for(".event", meeting_id=meeting.id) + "#met"
        if back
        else url_for(".here", meeting_id=meeting.id, q=request.form.get("q") or None)
    )
    if not ActionForm().validate_on_submit():
        raise NotFound("person")
    # Only someone checked in at this meeting can be named here: any other id is "no such
    # person", so the form cannot be used to list the installation's users.
    try:
        with atomic():
            other = connections.person_here(meeting, user_id)
            _, created = connections.record_connection(
                meeting, me, other, ConnectionHow.LIST, None, utcnow()
            )
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(
            f"Saved: you met {other.name}." if created else f"You had already met {other.name}.",
            "success",
        )
    return redirect(target)


def _member_of_connection(connection_id: int):
    """Who acts at the meeting of connection ``connection_id`` (the service checks it is theirs)."""
    conn = db.session.get(Connection, connection_id)
    if conn is None:
        raise NotFound("connection")
    return require_member_at(conn.meeting_id)


@bp.post("/connections/<int:connection_id>/note")
def edit_note(connection_id: int):
    me = _member_of_connection(connection_id)
    form = NoteForm()
    if not form.validate_on_submit():
        abort(400, " ".join(form.errors.get("note", [])) or None)
    with atomic():
        conn = connections.set_note(connection_id, me, form.note.data)
    flash("Note saved. Only you can see it.", "success")
    return redirect(url_for(".event", meeting_id=conn.meeting_id) + f"#c{conn.id}")


@bp.post("/connections/<int:connection_id>/delete")
def delete(connection_id: int):
    me = _member_of_connection(connection_id)
    if not ActionForm().validate_on_submit():
        raise NotFound("connection")
    with atomic():
        meeting_id = connections.delete_connection(connection_id, me)
    flash("Deleted, for both of you.", "success")
    return redirect(url_for(".event", meeting_id=meeting_id) + "#met")


# --- organisers ----------------------------------------------------------------------------


@bp.get("/organise/meetings/<int:meeting_id>/connections")
@login_required
def organiser_summary(meeting_id: int):
    meeting = access.organised_meeting(current_user, meeting_id)
    return render_template(
        "connect/organiser_summary.html",
        meeting=meeting,
        summary=connections.summary(meeting),
        pairs=connections.pairs(meeting),
    )


@bp.route("/organise/meetings/<int:meeting_id>/rounds", methods=["GET", "POST"])
@login_required
def rounds(meeting_id: int):
    meeting = access.organised_meeting(current_user, meeting_id)
    form = RoundsForm()
    errors = []
    if form.validate_on_submit():
        text = uploaded_text(form.file.data) if form.file.data else form.rows.data or ""
        with atomic():  # all or nothing: a list with errors recorded nothing
            result = connections.import_rounds(meeting, current_user, text, utcnow())
        if not result.errors:
            flash(
                f"Recorded {result.created} new connections at {result.tables} tables"
                + (f" ({result.existing} were already recorded)." if result.existing else "."),
                "success",
            )
            return redirect(url_for(".organiser_summary", meeting_id=meeting.id))
        errors = result.errors
    elif request.method == "POST":
        errors = [e for field_errors in form.errors.values() for e in field_errors]
    return render_template(
        "connect/rounds.html", meeting=meeting, form=form, errors=errors
    ), 422 if errors else 200
