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
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import Meeting, Membership, Registration
from . import members, rules


def record_check_ins(now: datetime) -> int:
    """Mark as engaged every member checked in at a meeting of their group who was not yet,
    and rewrite their search keys; return how many. The caller commits."""
    reg, meeting = aliased(Registration), aliased(Meeting)
    checked_in = (
        select(reg.id)
        .join(meeting, meeting.id == reg.meeting_id)
        .where(
            reg.user_id == Membership.user_id,
            meeting.group_id == Membership.group_id,
            rules.present(reg),
        )
        .exists()
    )
    ids = list(
        db.session.scalars(select(Membership.id).where(Membership.engaged_at.is_(None), checked_in))
    )
    if ids:
        db.session.execute(update(Membership).where(Membership.id.in_(ids)).values(engaged_at=now))
        members.refresh_search_keys(Membership.id.in_(ids))
    return len(ids)
