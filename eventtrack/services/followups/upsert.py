"""``INSERT … ON CONFLICT (…) DO UPDATE`` for the session's database: the sibling of
``database.insert_ignoring`` for a row that is created or changed in one statement (a follow-up
state, a goal), so two requests at once never race between a read and a write."""

from sqlalchemy.dialects import postgresql, sqlite

from ...extensions import db


def upsert(entity, *unique_columns: str, set_: dict):
    """An insert into ``entity`` (a model or a table; add ``.values(…)``) that, where a row
    with the same ``unique_columns`` exists, updates that row's ``set_`` columns instead, in
    the caller's transaction.

    For a model, ``.returning(Model)`` run with ``populate_existing`` gives the row as it is
    now, also where the session had loaded it before."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(entity).on_conflict_do_update(index_elements=list(unique_columns), set_=set_)
