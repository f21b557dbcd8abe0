"""Why two people cannot be connected, or a code is not one: the answers the pages show."""

from ..errors import DomainError


class CannotConnect(DomainError):
    """These two cannot be connected here and now (own code, not checked in, other meeting)."""

    status = 409


class UnknownCode(DomainError):
    """A well-formed connect code that belongs to nobody."""

    status = 404
