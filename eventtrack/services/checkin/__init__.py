"""Check-in at the door. Every way in ends here: an organiser scanning a pass, the kiosk and the
poster (self check-in), the manual list, walk-ins and the API.

Exactly-once is the database's job: a check-in is ``UPDATE registrations SET checked_in_at = …
WHERE id = … AND checked_in_at IS NULL`` — of any number of concurrent attempts one updates a
row, the others read the winner's time. Each attempt is also a ``CheckinEvent`` row; a client
nonce is unique there, so a retried request rolls back its whole transaction and answers what
the first one answered.

- ``results``: statuses, the door's sentences, the answer's JSON;
- ``attempt``: one attempt and its transaction (the conditional UPDATE, the event row);
- ``door``: by pass — the organiser's scanner, the API, the manual list;
- ``walk_ins``: walk-ins, the kiosk and the poster;
- ``undo``: undoing a check-in.
"""

from .attempt import is_first_time
from .door import check_in, check_in_registration
from .results import (
    ALREADY_CHECKED_IN,
    CANCELLED,
    CHECKED_IN,
    HTTP_STATUS,
    INVALID,
    NOT_CHECKED_IN,
    NOT_OPEN,
    NOT_THIS_MEETING,
    UNDONE,
    CheckinResult,
    Status,
    extract_token,
)
from .undo import undo
from .walk_ins import self_check_in, self_check_in_by_email, walk_in

__all__ = [
    "ALREADY_CHECKED_IN",
    "CANCELLED",
    "CHECKED_IN",
    "HTTP_STATUS",
    "INVALID",
    "NOT_CHECKED_IN",
    "NOT_OPEN",
    "NOT_THIS_MEETING",
    "UNDONE",
    "CheckinResult",
    "Status",
    "check_in",
    "check_in_registration",
    "extract_token",
    "is_first_time",
    "self_check_in",
    "self_check_in_by_email",
    "undo",
    "walk_in",
]
