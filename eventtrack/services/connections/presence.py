"""Who is here: the people checked in at a meeting, whom an attendee may see and connect with,
and the newcomers among them."""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select

from ...extensions import db
from ...models import Meeting, Registration, User
from ...models.vocabularies import RegistrationStatus
from .. import rules
from ..errors import NotFound
from .errors import CannotConnect
from .met import met_ids

MAX_QUERY = 100


@dataclass
class Here:
    person: User
    met: bool


def here(registration=Registration) -> ColumnElement[bool]:
    """``registration`` is present (``rules.present``) and still holds a place: only such
    people see who else is here, connect, get a follow-up list and count in the reports."""
    return and_(rules.present(registration), registration.status == RegistrationStatus.GOING)


def attending(meeting: Meeting, user: User) -> Registration | None:
    """``user``'s registration at ``meeting`` if they are here, else None."""
    return db.session.scalar(
        select(Registration).where(
            Registration.meeting_id == meeting.id, Registration.user_id == user.id, here()
        )
    )


def checked_in_users(meeting: Meeting):
    """SELECT of the users here at ``meeting``."""
    return (
        select(User)
        .join(Registration, Registration.user_id == User.id)
        .where(Registration.meeting_id == meeting.id, here())
    )


def person_here(meeting: Meeting, user_id: int) -> User:
    """The user ``user_id`` if checked in at ``meeting``, else ``NotFound``: a form naming any
    other id learns nothing, not even whether that user exists."""
    user = db.session.scalar(checked_in_users(meeting).where(User.id == user_id))
    if user is None:
        raise NotFound("person here")
    return user


def people_here(meeting: Meeting, viewer: User, query: str = "") -> list[Here]:
    """Everyone checked in at ``meeting`` but ``viewer``, optionally filtered by ``query``.

    Only people who are checked in themselves may see who else is here.
    """
    if attending(meeting, viewer) is None:
        raise CannotConnect(
            "not_checked_in",
            f"You are not checked in at “{meeting.title}”. Check in at the door to see who "
            "is here.",
        )
    stmt = (
        checked_in_users(meeting)
        .where(User.id != viewer.id)
        .order_by(func.lower(User.name), User.id)
    )
    query = (query or "").strip()[:MAX_QUERY].lower()
    if query:
        stmt = stmt.where(
            or_(
                *(
                    func.lower(column).contains(query, autoescape=True)
                    for column in (User.name, User.company, User.headline)
                )
            )
        )
    already = met_ids(meeting, viewer)
    return [Here(person=u, met=u.id in already) for u in db.session.scalars(stmt)]


def newcomer_ids(meeting: Meeting) -> set[int]:
    """People here at ``meeting`` for the first time: it is the first meeting of its group they
    attended (``rules.first_time``)."""
    return set(
        db.session.scalars(
            select(Registration.user_id).where(
                Registration.meeting_id == meeting.id,
                here(),
                rules.first_time(Registration.user_id, Registration.meeting_id),
            )
        )
    )
