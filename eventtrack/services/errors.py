"""Typed domain errors: the web layer translates ``code`` to a status and a message."""


class DomainError(Exception):
    """A rule said no. ``code`` is stable (API clients match on it); ``field`` names bad input."""

    status = 409

    def __init__(self, code: str, message: str, *, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class NotFound(DomainError):
    """Missing, or not yours: the two are deliberately indistinguishable."""

    status = 404

    def __init__(self, what: str = "object"):
        super().__init__("not_found", f"No such {what}.")


class Invalid(DomainError):
    status = 422

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(code, message, field=field)


class Forbidden(DomainError):
    status = 403

    def __init__(self, message: str = "You may not do that."):
        super().__init__("forbidden", message)


class UnknownActor(DomainError):
    """The acting account no longer exists: deleted after the caller checked its credentials
    (an API token is trusted for a few seconds, see ``web.api.auth.RecentTokens``)."""

    status = 401

    def __init__(self):
        super().__init__("unauthorized", "This account no longer exists.")


def require_fits(value: str | None, attr, label: str, field: str | None = None) -> str:
    """Return ``value`` stripped, or raise ``Invalid`` naming the limit of ``attr``'s column.

    Too long is an error the person can fix, never a silent cut.
    """
    from ..models.limits import max_length

    value = (value or "").strip()
    limit = max_length(attr)
    if len(value) > limit:
        raise Invalid(
            f"{label} can be at most {limit:,} characters (this one has {len(value):,}).",
            field=field,
        )
    return value
