"""The web layer: blueprints by audience, error pages, the login loader, template helpers."""

from datetime import datetime

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..extensions import login_manager
from ..models import User, utcnow
from ..services import sessions
from ..services.errors import DomainError


def wants_json() -> bool:
    return request.path.startswith("/api/")


def json_error(status: int, code: str, message: str, fields: dict | None = None):
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return jsonify(body), status


def _format_local(when: datetime | None, meeting, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    if when is None:
        return ""
    return meeting.local(when).strftime(fmt)


def _own_words(exc: HTTPException) -> str | None:
    """What a page says about ``exc``: a sentence the code chose (``abort(400, "…")``), else
    None, and the error page says it in the app's words (templates/errors/error.html), never
    Werkzeug's ("The requested URL was not found on the server…")."""
    if isinstance(exc, CSRFError):
        return (
            "This form was open too long or came from elsewhere (its CSRF security token did "
            "not match). Reload the page and try again."
        )
    if exc.description == type(exc).description:
        return None
    return exc.description


def init_web(app: Flask) -> None:
    from .api import init_api
    from .attendee.routes import bp as attendee_bp
    from .auth.routes import bp as auth_bp
    from .connect.routes import bp as connect_bp
    from .door.routes import bp as door_bp
    from .followups.routes import bp as followups_bp
    from .hardening import init_hardening
    from .invite import bp as invite_bp
    from .membership.routes import bp as membership_bp
    from .organiser import bp as organiser_bp

    init_hardening(app)  # first: its URL converters must exist before any route is added
    for blueprint in (auth_bp, organiser_bp, attendee_bp, door_bp, connect_bp, followups_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(membership_bp)
    app.register_blueprint(invite_bp)
    init_api(app)

    from .headers import init_headers
    from .ratelimit import init_ratelimit

    init_headers(app)
    init_ratelimit(app)

    from .health import init_health

    init_health(app)

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_user(session_key: str) -> User | None:
        # The cookie names a server-side session, not a user: an ended one loads nobody.
        return sessions.user_for_key(session_key, utcnow())

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        if wants_json():
            fields = {exc.field: [exc.message]} if exc.field else None
            return json_error(exc.status, exc.code, exc.message, fields)
        return render_template("errors/error.html", status=exc.status, message=exc.message), (
            exc.status
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_json():
            code = (exc.name or "error").lower().replace(" ", "_")
            # webargs (via flask-smorest) puts per-field messages in exc.data["messages"].
            messages = (getattr(exc, "data", None) or {}).get("messages") or {}
            fields = {}
            for location in messages.values():
                fields.update(location if isinstance(location, dict) else {"_body": location})
            message = exc.description or exc.name
            if fields and exc.code in (400, 422):
                message = "Invalid input: " + ", ".join(sorted(fields)) + "."
            return json_error(exc.code or 500, code, message, fields or None)
        return render_template("errors/error.html", status=exc.code, message=_own_words(exc)), (
            exc.code
        )

    app.jinja_env.filters["local"] = _format_local
    app.jinja_env.globals["now_year"] = lambda: datetime.now().year
