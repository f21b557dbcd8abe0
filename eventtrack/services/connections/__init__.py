"""Who met whom at a meeting (issue #4). The privacy rules live here, once, one module each:

- ``presence``: who is here — checked in (``rules.present``) and still going; only they see each
  other, connect, and count; newcomers are those at their first meeting of the group.
- ``codes``: the connect code an attendee shows (not the pass), created after check-in.
- ``recording``: "we met", one row per unordered pair per meeting, ``INSERT … ON CONFLICT DO
  NOTHING`` in the caller's transaction; deleting it again.
- ``notes``: each side's private note, read and written by its author only.
- ``met`` and ``contacts``: the people I met as I see them; their contact details only while
  they consent (``share_contact``, read at each view).
- ``rounds``: connections an organiser records (API pairs, speed-networking tables).
- ``report``: what organisers and integrations see — pairs and counts, never notes.

Services flush; the caller commits (``transaction.atomic``).
"""

from .codes import TOKEN_RE, code_for, connect_url, new_connect_token, resolve_code
from .contacts import Contact, contact_of
from .errors import CannotConnect, UnknownCode
from .met import Met, met_at, met_ids
from .notes import MAX_NOTE, set_note
from .presence import (
    MAX_QUERY,
    Here,
    attending,
    checked_in_users,
    here,
    newcomer_ids,
    people_here,
    person_here,
)
from .recording import (
    ATTENDEE_HOWS,
    check_pair,
    delete_connection,
    record_connection,
    record_scan,
)
from .report import AttendeeCount, Pair, Summary, pair_of, pairs, summary
from .rounds import MAX_ROUND_ROWS, RoundsResult, import_rounds, record_by_organiser

__all__ = [
    "ATTENDEE_HOWS",
    "MAX_NOTE",
    "MAX_QUERY",
    "MAX_ROUND_ROWS",
    "TOKEN_RE",
    "AttendeeCount",
    "CannotConnect",
    "Contact",
    "Here",
    "Met",
    "Pair",
    "RoundsResult",
    "Summary",
    "UnknownCode",
    "attending",
    "check_pair",
    "checked_in_users",
    "code_for",
    "connect_url",
    "contact_of",
    "delete_connection",
    "here",
    "import_rounds",
    "met_at",
    "met_ids",
    "new_connect_token",
    "newcomer_ids",
    "pair_of",
    "pairs",
    "people_here",
    "person_here",
    "record_by_organiser",
    "record_connection",
    "record_scan",
    "resolve_code",
    "set_note",
    "summary",
]
