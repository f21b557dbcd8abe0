"""Each side's private note on a connection: read and written by its author only. Nothing here
hands out the other side's note, and the organiser and API views get no notes at all."""

from ...extensions import db
from ...models import Connection, User
from ...models.limits import max_length
from ..errors import Invalid, NotFound
from .met import mine

MAX_NOTE = max_length(Connection.note_a)  # each side's note: one limit, the column's


def clean_note(note: str | None) -> str:
    """``note`` stripped, or ``Invalid`` if it is longer than a note may be."""
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise Invalid(f"A note is at most {MAX_NOTE} characters.", field="note")
    return note


def set_own_note(conn: Connection, author_id: int, note: str) -> None:
    """Put ``note`` in ``author_id``'s own column of ``conn``."""
    # Only the author's own column is assigned, so only it is in the UPDATE.
    if conn.user_a_id == author_id:
        conn.note_a = note
    elif conn.user_b_id == author_id:
        conn.note_b = note
    else:  # pragma: no cover - callers pass a participant
        raise NotFound("connection")


def set_note(connection_id: int, author: User, note: str | None) -> Connection:
    """Replace ``author``'s own note on one of their connections (any time, also later)."""
    note = clean_note(note)
    conn = mine(connection_id, author)
    set_own_note(conn, author.id, note)
    db.session.flush()
    return conn
