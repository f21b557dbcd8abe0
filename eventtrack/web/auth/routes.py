"""Signing in and out: password (organisers), one-time emailed link (everyone)."""

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

from ...extensions import db, limiter
from ...models import User, utcnow
from ...services import accounts
from ...services.errors import Invalid
from .forms import ConfirmForm, LinkRequestForm, LoginForm, LogoutForm, RegisterForm

bp = Blueprint("auth", __name__)


def safe_next(target: str | None, default: str = "organiser.home") -> str:
    """Return ``target`` if it is a path on this site, else the default page: no open redirect."""
    if target:
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


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=True)
            return redirect(safe_next(form.next.data))
        flash("That email and password do not match.", "error")
    return render_template("auth/login.html", form=form)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.register_organiser(form.email.data, form.name.data, form.password.data)
        except Invalid as exc:
            db.session.rollback()
            getattr(form, exc.field or "email").errors.append(exc.message)
        else:
            login_user(user, remember=True)
            flash("Welcome! Start by creating your group.", "success")
            return redirect(url_for("organiser.new_group"))
    return render_template("auth/register.html", form=form)


@bp.route("/login/link", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"])
def request_link():
    form = LinkRequestForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        accounts.request_login_link(
            form.email.data, utcnow(), safe_next(form.next.data, "attendee.home")
        )
        # The same answer whether or not the address has an account: no enumeration.
        return render_template("auth/link_sent.html", email=form.email.data)
    return render_template("auth/link_request.html", form=form)


@bp.route("/login/link/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def login_link(token: str):
    # GET only shows a button: mail scanners that prefetch links must not use up the link.
    form = ConfirmForm()
    now = utcnow()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        link = accounts.consume_login_link(token, now)
        if link is None:
            return render_template("auth/link_invalid.html"), 410
        login_user(db.session.get(User, link.user_id), remember=True)
        return redirect(safe_next(link.next_url, "attendee.home"))
    link = accounts.peek_login_link(token, now)
    if link is None:
        return render_template("auth/link_invalid.html"), 410
    return render_template("auth/link_confirm.html", form=form, user=link.user)


@bp.post("/logout")
@login_required
def logout():
    if LogoutForm().validate_on_submit():
        logout_user()
        flash("You are signed out.", "info")
    return redirect(url_for("attendee.home"))


@bp.app_context_processor
def inject_logout_form():
    # Mail is rendered outside any request: no user, no form.
    signed_in = has_request_context() and current_user.is_authenticated
    return {"logout_form": LogoutForm() if signed_in else None}
