"""Signing in and out: password (organisers), one-time emailed link (everyone), sign-up that
proves the address first. Every sign-in is a server-side session (``services.sessions``)."""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from ...extensions import db
from ...models import User, utcnow
from ...services import accounts, sessions
from ...services.errors import Invalid
from ...transaction import atomic
from .. import ratelimit
from ..actor import forget_passes
from .forms import ConfirmForm, LinkRequestForm, LoginForm, LogoutForm, RegisterForm

bp = Blueprint("auth", __name__)


def safe_next(target: str | None, default: str = "organiser.home") -> str:
    """Return ``target`` if it is a path on this site, else the default page: no open redirect,
    and no control character (CR/LF would split the Location header)."""
    if target and target.isprintable():
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
            and "\\" not in target
        ):
            return target
    return url_for(default)


def sign_in(user: User) -> None:
    """Open a server-side session for ``user`` and give this browser its cookies: call it
    inside the action's ``atomic()``, which commits the session with the rest."""
    sessions.start(user, utcnow())
    login_user(user, remember=True)


@bp.route("/login", methods=["GET", "POST"])
@ratelimit.sign_in
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        with atomic():
            user = accounts.authenticate(form.email.data, form.password.data)
            if user is not None:
                sign_in(user)
        if user is not None:
            return redirect(safe_next(form.next.data))
        flash("That email and password do not match.", "error")
    return render_template("auth/login.html", form=form)


@bp.route("/register", methods=["GET", "POST"])
@ratelimit.sign_up
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            with atomic():
                accounts.request_signup(
                    form.email.data, form.name.data, form.password.data, utcnow()
                )
        except Invalid as exc:
            getattr(form, exc.field or "email").errors.append(exc.message)
        else:
            # The same page whether the address was new or not: no account enumeration.
            return render_template("auth/signup_sent.html", email=form.email.data)
    return render_template("auth/register.html", form=form)


@bp.route("/register/<token>", methods=["GET", "POST"])
@ratelimit.confirm
def confirm_signup(token: str):
    # GET only shows a button: mail scanners that prefetch links must not use up the link.
    form = ConfirmForm()
    now = utcnow()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        with atomic():
            user = accounts.complete_signup(token, now)
            if user is not None:
                sign_in(user)
        if user is None:
            return render_template("auth/link_invalid.html", signup=True), 410
        flash("Welcome! Start by creating your group.", "success")
        return redirect(url_for("organiser.new_group"))
    link = accounts.peek_signup_link(token, now)
    if link is None:
        return render_template("auth/link_invalid.html", signup=True), 410
    return render_template("auth/signup_confirm.html", form=form, link=link)


@bp.route("/login/link", methods=["GET", "POST"])
@ratelimit.mail_link
def request_link():
    form = LinkRequestForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        with atomic():
            accounts.request_login_link(
                form.email.data, utcnow(), safe_next(form.next.data, "attendee.home")
            )
        # The same answer whether or not the address has an account: no enumeration.
        return render_template("auth/link_sent.html", email=form.email.data)
    return render_template("auth/link_request.html", form=form)


@bp.route("/login/link/<token>", methods=["GET", "POST"])
@ratelimit.confirm
def login_link(token: str):
    # GET only shows a button: mail scanners that prefetch links must not use up the link.
    form = ConfirmForm()
    now = utcnow()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        with atomic():
            link = accounts.consume_login_link(token, now)
            if link is not None:
                sign_in(db.session.get(User, link.user_id))
        if link is None:
            return render_template("auth/link_invalid.html"), 410
        return redirect(safe_next(link.next_url, "attendee.home"))
    link = accounts.peek_login_link(token, now)
    if link is None:
        return render_template("auth/link_invalid.html"), 410
    return render_template("auth/link_confirm.html", form=form, user=link.user)


@bp.post("/logout")
@login_required
def logout():
    if LogoutForm().validate_on_submit():
        # Ended on the server: a copy of this browser's cookies is dead as well.
        with atomic():
            sessions.end(current_user.get_id(), utcnow())
        logout_user()
        forget_passes()  # and no pass opened here acts for anyone after the sign-out
        flash("You are signed out.", "info")
    return redirect(url_for("attendee.home"))


@bp.app_context_processor
def inject_logout_form():
    # Mail is rendered outside any request: no user, no form.
    signed_in = has_request_context() and current_user.is_authenticated
    # formdata=None: the button needs no input, and reading it could raise again (a 413).
    return {"logout_form": LogoutForm(formdata=None) if signed_in else None}
