"""The one transaction boundary. Services change and flush; the request, the CLI command and the
worker commit or roll back, once, here::

    with atomic():
        groups.add_member(...)
        registrations.register(...)

Whatever a block raised is rolled back whole, mail queued by it included (the outbox is a table
in the same transaction). A change flushed and never committed is a bug: the app notices one
left at the end of a request (``init_transactions``) and, under test, fails the request.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db

log = logging.getLogger(__name__)

_UNSAVED = "eventtrack.unsaved"


@contextmanager
def atomic() -> Iterator[None]:
    """Commit what the block changed if it ends normally, roll all of it back if it raises."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


def has_unsaved_changes(session: Session | None = None) -> bool:
    """The session flushed changes (or holds some) that nobody committed or rolled back yet."""
    if session is None:
        registry = db.session.registry
        if not registry.has():  # no session made in this context: nothing in it (and none made)
            return False
        session = registry()
    return bool(session.info.get(_UNSAVED) or session.new or session.dirty or session.deleted)


def _flushed(session: Session, _context) -> None:
    session.info[_UNSAVED] = True


def _executed(state) -> None:
    # Writes that skip the unit of work (``session.execute(insert(…))``, bulk updates) count
    # as unsaved changes too.
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_UNSAVED] = True


def _ended(session: Session, *_args) -> None:
    session.info.pop(_UNSAVED, None)


event.listen(Session, "after_flush", _flushed)
event.listen(Session, "do_orm_execute", _executed)
event.listen(Session, "after_commit", _ended)
event.listen(Session, "after_soft_rollback", _ended)


def init_transactions(app: Flask) -> None:
    @app.after_request
    def _nothing_left_unsaved(response):
        if has_unsaved_changes():
            message = f"{_request_label()} ended with changes nobody committed: rolled back"
            db.session.rollback()
            if current_app.testing:
                raise RuntimeError(message)
            log.error(message)
        return response


def _request_label() -> str:
    from flask import request

    return f"{request.method} {request.path}"
