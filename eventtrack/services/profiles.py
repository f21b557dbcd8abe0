"""Members' own profiles and consent choices."""

from urllib.parse import urlsplit, urlunsplit

from ..extensions import db
from ..models import Membership, User
from . import members
from .errors import Forbidden, Invalid

PROFILE_FIELDS = {
    "name": 120,
    "headline": 160,
    "company": 120,
    "interests": 1000,
    "asks": 1000,
    "offers": 1000,
    "linkedin_url": 300,
    "phone": 40,
}
CONSENT_FIELDS = ("share_contact", "followup_emails")


def _check_linkedin(url: str) -> str:
    """A linkedin.com profile URL, rebuilt from its parts so nothing else rides along."""
    if not url:
        return ""
    if "://" not in url:
        url = "https://" + url
    bad = Invalid("Enter a linkedin.com profile URL.", field="linkedin_url")
    # A backslash or user-info ("evil.example\\@linkedin.com") parses as linkedin.com here
    # but sends browsers elsewhere; whitespace and control characters have no place either.
    if "\\" in url or any(c.isspace() or ord(c) < 32 for c in url):
        raise bad
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if (
        parts.scheme not in ("http", "https")
        or parts.username is not None
        or parts.port is not None
        or not (host == "linkedin.com" or host.endswith(".linkedin.com"))
    ):
        raise bad
    return urlunsplit(("https", host, parts.path, parts.query, ""))


def update_profile(user: User, actor: User, **changes) -> User:
    """Change ``user``'s profile. Only the member themself may change it, consent above all."""
    if actor.id != user.id:
        raise Forbidden("Only the member can change their own profile and consent.")
    unknown = set(changes) - set(PROFILE_FIELDS) - set(CONSENT_FIELDS)
    if unknown:
        raise Invalid(f"Unknown field {sorted(unknown)[0]!r}.", field=sorted(unknown)[0])
    for name, limit in PROFILE_FIELDS.items():
        if name in changes:
            value = (changes[name] or "").strip()
            if len(value) > limit:
                raise Invalid(f"{name} is at most {limit} characters.", field=name)
            if name == "name" and not value:
                raise Invalid("Your name cannot be empty.", field="name")
            if name == "linkedin_url":
                value = _check_linkedin(value)
            setattr(user, name, value)
    for name in CONSENT_FIELDS:
        if name in changes:
            setattr(user, name, bool(changes[name]))
    db.session.flush()
    if {"name", "company"} & set(changes):
        # The groups they take part in see their own name and company: search by them.
        members.refresh_search_keys(Membership.user_id == user.id)
    return user


def unsubscribe(user: User) -> None:
    """One-click opt-out of follow-up emails (from a signed link in every email)."""
    user.followup_emails = False
    db.session.flush()
