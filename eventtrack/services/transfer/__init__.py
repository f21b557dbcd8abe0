"""Moving house: the whole database as one file, and back (``flask export-data`` /
``import-data``), from SQLite to PostgreSQL or the other way.

The file is JSON lines, gzip-compressed when its name ends in ``.gz`` (reading recognises gzip
by its first bytes, standard input included)::

    {"format": "eventtrack-export", "version": 1, "revision": "0008_members", "tables":
     [{"name": "groups", "columns": [["id", "integer"], …], "rows": 3, "next_id": 4}, …], …}
    {"table": "groups", "rows": 3}
    [1, "Berlin Product Circle", "", "Europe/Berlin", "2026-12-03T07:30:35.123456+00:00", null]
    …                                       one line a row, in the header's column order
    {"end": true, "rows": 1234, "sha256": "…"}

- Every table of the models' metadata, in foreign-key order (``sorted_tables``), every column.
  Values are JSON's own (integers of any size, text, booleans, null) but for datetimes (ISO 8601
  with their offset: UTC) and dates (ISO); a JSON column holds its JSON. A column type not
  listed in ``KINDS`` is refused, so a new one is taught here rather than written wrongly.
- ``next_id`` is the lowest id a new row may take. SQLite never hands a deleted user's id out
  again (AUTOINCREMENT: a session cookie or a worker's token memo holds user ids); after the
  move PostgreSQL's sequences do not either, nor does SQLite after a move back.
- The last line's hash covers every byte before it: a file cut short or changed is refused, and
  as the import is one transaction, nothing of it stays.
- Export reads one snapshot (a single read transaction, REPEATABLE READ on PostgreSQL) and
  streams each table in batches (``yield_per``: a server-side cursor on PostgreSQL); import
  writes batch by batch in the caller's transaction. Neither holds a table in memory.
"""

from .export import Snapshot
from .load import ExportFile, load
from .tables import FORMAT, VERSION, TransferError

__all__ = ["FORMAT", "VERSION", "ExportFile", "Snapshot", "TransferError", "load"]
