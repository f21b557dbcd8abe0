"""Taking part by checking in, written down after the fact.

A check-in makes a member "engaged" (``members.engaged``: the organisers see their own name from
then on) without the door writing anything beyond the check-in, which keeps the door's one
statement one statement. What organisers *search* by is stored, though (``memberships.
search_key``), so the worker records those check-ins every round: ``engaged_at`` set and the
search key rewritten, set-based. A member checked in at the door can be found by their own
name within a worker round.
"""

from datetime import datetime

from sqlalchemy import select, update

from ..extensions import db
from ..models import Membership
from . import members


def record_check_ins(now: datetime) -> int:
    """Mark as engaged every member checked in at a meeting of their group who was not yet,
    and rewrite their search keys; return how many. The caller commits."""
    ids = list(
        db.session.scalars(
            # Engaged (``members.engaged``: here, by a check-in) but not yet recorded so.
            select(Membership.id).where(
                Membership.engaged_at.is_(None),
                members.engaged(Membership.group_id, Membership.user_id),
            )
        )
    )
    if ids:
        db.session.execute(update(Membership).where(Membership.id.in_(ids)).values(engaged_at=now))
        members.refresh_search_keys(Membership.id.in_(ids))
    return len(ids)
