"""JSON API v1: bearer tokens, marshmallow schemas as the one source of validation and docs.

Errors: ``Api.init_app`` registers flask-smorest's own app-wide ``HTTPException`` handler;
``web.init_web`` registers ours for the same class after calling ``init_api``, and Flask keeps
the last handler registered for a class, so every error under /api answers the project's
``{"error": {...}}`` shape (HTML elsewhere). tests/test_packaging.py checks every error status.
"""

from flask import Flask
from flask_smorest import Api

from ...extensions import csrf

api = Api(
    spec_kwargs={
        "info": {"description": "Groups, members, meetings and registrations of eventtrack."},
        "security": [{"bearerAuth": []}],
    }
)


def init_api(app: Flask) -> None:
    from . import checkins, connections, followups, reports, routes
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
    for module in (routes, checkins, connections, followups, reports):
        csrf.exempt(module.blp)  # token-authenticated, no cookies: CSRF does not apply
        api.register_blueprint(module.blp)
