"""Rate limits (Flask-Limiter) on what a stranger can try over and over: password guesses,
sign-in and sign-up mails, kiosk check-ins by email, look-ups of people at a meeting.

Limits count per client address and, where a form names an account, per account too, so a
guesser spreading over many addresses still meets the account's limit. Behind reverse proxies
(``PROXIES`` = how many) Werkzeug's ``ProxyFix`` gives the limiter the real client address;
with several workers or servers the counts must live in Redis (``RATELIMIT_STORAGE_URI``).
"""

import time

from flask import Flask, render_template, request
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from ..extensions import limiter

SIGN_IN_PER_ADDRESS = "20 per minute"
SIGN_IN_PER_ACCOUNT = "10 per 10 minutes"
MAIL_LINK_PER_ADDRESS = "5 per minute"
MAIL_LINK_PER_ACCOUNT = "5 per hour"
SIGN_UP_PER_ADDRESS = "10 per hour"
# A venue's wifi puts a whole door behind one address: room for a queue at the kiosk.
KIOSK_PER_ADDRESS = "60 per minute"
LOOKUP_PER_ADDRESS = "60 per minute"
CONFIRM_PER_ADDRESS = "30 per minute"


def account_key() -> str:
    """The account a sign-in form names (its email, folded), whatever address it comes from."""
    return "account:" + (request.form.get("email") or "").strip().lower()


def pass_key() -> str:
    """The pass a request names in its URL: its inbox is the account it mails."""
    return "pass:" + str((request.view_args or {}).get("token", ""))


def _per_address(limit: str):
    return limiter.limit(limit, key_func=get_remote_address, methods=["POST"])


def _both(address_limit: str, account_limit: str, account=account_key):
    def decorate(view):
        per_account = limiter.limit(account_limit, key_func=account, methods=["POST"])
        return _per_address(address_limit)(per_account(view))

    return decorate


sign_in = _both(SIGN_IN_PER_ADDRESS, SIGN_IN_PER_ACCOUNT)
mail_link = _both(MAIL_LINK_PER_ADDRESS, MAIL_LINK_PER_ACCOUNT)
pass_mail_link = _both(MAIL_LINK_PER_ADDRESS, MAIL_LINK_PER_ACCOUNT, account=pass_key)
sign_up = _per_address(SIGN_UP_PER_ADDRESS)
kiosk_by_email = _per_address(KIOSK_PER_ADDRESS)
confirm = _per_address(CONFIRM_PER_ADDRESS)
lookup = limiter.limit(LOOKUP_PER_ADDRESS, key_func=get_remote_address)


def init_ratelimit(app: Flask) -> None:
    """Trust ``PROXIES`` reverse proxies for the client address; answer 429 with a page."""
    proxies = int(app.config.get("PROXIES") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    @app.errorhandler(429)
    def too_many(exc):
        from . import json_error, wants_json

        retry = _retry_after()
        message = f"Too many attempts. Please try again in {_in_words(retry)}."
        if wants_json():
            response, status = json_error(429, "too_many_requests", message)
        else:
            response = app.make_response(
                (render_template("errors/error.html", status=429, message=message), 429)
            )
            status = 429
        response.headers["Retry-After"] = str(retry)
        return response, status


def _retry_after() -> int:
    """Seconds until the limit that was hit lets the client try again."""
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, current.reset_at - int(time.time()))


def _in_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minutes"
