"""Bearer-token authentication, shared by every API v1 blueprint."""

from flask import abort, g, request
from flask_smorest import Blueprint

from ...models import utcnow
from ...services import accounts


def authenticate() -> None:
    """Set ``g.api_user`` from ``Authorization: Bearer <token>`` or answer 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    user = None
    if scheme.lower() == "bearer" and token.strip():
        user = accounts.user_for_api_token(token.strip(), utcnow())
    if user is None:
        abort(401, "Send Authorization: Bearer <token> (flask --app eventtrack api-token EMAIL).")
    g.api_user = user


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """A /api/v1 blueprint whose every route needs a valid bearer token."""
    blp = Blueprint(name, import_name, url_prefix="/api/v1", description=description)
    blp.before_request(authenticate)
    return blp
