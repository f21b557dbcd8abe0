"""Bearer-token authentication, shared by every API v1 blueprint."""

import time
from collections.abc import Callable
from datetime import datetime

from flask import Flask, abort, current_app, g, request
from flask_smorest import Blueprint

from ...extensions import db
from ...models import User, utcnow
from ...services import accounts

_UNAUTHORIZED = "Send Authorization: Bearer <token> (flask --app eventtrack api-token EMAIL)."


class RecentTokens:
    """The API tokens this process found in the database in the last ``seconds``, and whose
    they are.

    An integration sends its token with every request, and looking it up is a transaction of
    its own: at the door, hundreds of scans a second, it cost as much as the check-in's own
    statements. So a worker trusts a token it has just found for a few seconds
    (``API_TOKEN_CACHE_SECONDS``, 0 to look up every request): a token deleted in the
    database stops working in every worker within that time. Only who holds the token is
    remembered, never what they may do: every route still checks that in the database.
    A token that was not found is not remembered, so a new one works at once.
    """

    def __init__(
        self, seconds: float, size: int = 1024, clock: Callable[[], float] = time.monotonic
    ):
        self.seconds, self.size, self._clock = seconds, size, clock
        self._found: dict[str, tuple[int, float]] = {}  # token hash -> (user id, good until)

    def user_id(self, token: str, now: datetime) -> int | None:
        """The id of the user holding ``token``, or None."""
        if self.seconds <= 0:
            return accounts.user_id_for_api_token(token, now)
        key, at = accounts.hash_token(token), self._clock()
        found = self._found.get(key)
        if found is not None and at < found[1]:
            return found[0]
        user_id = accounts.user_id_for_api_token(token, now)
        if user_id is None:
            self._found.pop(key, None)
        else:
            if len(self._found) >= self.size:  # a worker sees a handful of tokens: start over
                self._found.clear()
            self._found[key] = (user_id, at + self.seconds)
        return user_id


def init_auth(app: Flask) -> None:
    app.extensions["eventtrack_api_tokens"] = RecentTokens(
        float(app.config["API_TOKEN_CACHE_SECONDS"])
    )


def authenticate() -> None:
    """Set ``g.api_user_id`` from ``Authorization: Bearer <token>`` or answer 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    user_id = None
    if scheme.lower() == "bearer" and token.strip():
        tokens: RecentTokens = current_app.extensions["eventtrack_api_tokens"]
        user_id = tokens.user_id(token.strip(), utcnow())
    if user_id is None:
        abort(401, _UNAUTHORIZED)
    g.api_user_id = user_id


def api_user() -> User:
    """The user whose token authenticated this request, loaded on first use: the check-in
    route, the door's hot path, needs only the id."""
    user = db.session.get(User, g.api_user_id)
    if user is None:  # deleted since this worker last found the token
        abort(401, _UNAUTHORIZED)
    return user


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """A /api/v1 blueprint whose every route needs a valid bearer token."""
    blp = Blueprint(name, import_name, url_prefix="/api/v1", description=description)
    blp.before_request(authenticate)
    return blp
