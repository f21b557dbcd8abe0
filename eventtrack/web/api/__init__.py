"""JSON API v1: bearer tokens, marshmallow schemas as the one source of validation and docs."""

from flask import Flask
from flask_smorest import Api

from ...extensions import csrf


class EventtrackApi(Api):
    """flask-smorest's Api, minus its app-wide error handler: ours (web/__init__) answers JSON
    under /api and HTML elsewhere, in the project's ``{"error": {...}}`` shape."""

    def _register_error_handlers(self):
        pass


api = EventtrackApi(
    spec_kwargs={
        "info": {"description": "Groups, members, meetings and registrations of eventtrack."},
        "security": [{"bearerAuth": []}],
    }
)


def init_api(app: Flask) -> None:
    from . import checkins, connections, followups, routes
    from .auth import init_auth

    init_auth(app)
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "`flask --app eventtrack api-token EMAIL`",
        },
    )
    for module in (routes, checkins, connections, followups):
        csrf.exempt(module.blp)  # token-authenticated, no cookies: CSRF does not apply
        api.register_blueprint(module.blp)
