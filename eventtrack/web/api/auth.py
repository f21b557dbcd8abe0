"""Bearer-token authentication, shared by every API v1 blueprint."""

from flask import abort, g, request
from flask_smorest import Blueprint

from ...extensions import db
from ...models import User, utcnow
from ...services import accounts


def authenticate() -> None:
    """Set ``g.api_user_id`` from ``Authorization: Bearer <token>`` or answer 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    user_id = None
    if scheme.lower() == "bearer" and token.strip():
        user_id = accounts.user_id_for_api_token(token.strip(), utcnow())
    if user_id is None:
        abort(401, "Send Authorization: Bearer <token> (flask --app eventtrack api-token EMAIL).")
    g.api_user_id = user_id


def api_user() -> User:
    """The user whose token authenticated this request, loaded on first use: the check-in
    route, the door's hot path, needs only the id."""
    return db.session.get(User, g.api_user_id)


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """A /api/v1 blueprint whose every route needs a valid bearer token."""
    blp = Blueprint(name, import_name, url_prefix="/api/v1", description=description)
    blp.before_request(authenticate)
    return blp
