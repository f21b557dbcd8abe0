"""Contact details shared with consent: computed at read time from a connection and the owner's
*current* ``share_contact`` consent, so withdrawing consent hides them at once."""

from dataclasses import dataclass

from sqlalchemy import select

from ...extensions import db
from ...models import Connection, User


@dataclass(frozen=True)
class Contact:
    email: str
    phone: str


def shared_contact(owner: User) -> Contact | None:
    """``owner``'s details for someone they met, if they consent to sharing them right now."""
    return Contact(owner.email, owner.phone) if owner.share_contact else None


def contact_of(owner: User, viewer: User) -> Contact | None:
    """``owner``'s email and phone for ``viewer``: only if they met and ``owner`` consents now."""
    if not owner.share_contact or owner.id == viewer.id:
        return None
    a, b = sorted((owner.id, viewer.id))
    met = db.session.scalar(
        select(Connection.id).where(Connection.user_a_id == a, Connection.user_b_id == b).limit(1)
    )
    return shared_contact(owner) if met is not None else None
