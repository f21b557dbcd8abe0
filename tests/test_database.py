"""Driver-level statements for the hot path (``eventtrack.database.DriverStatement``)."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError

from eventtrack.database import DriverStatement
from eventtrack.extensions import db
from eventtrack.models import ApiToken

INSERT_TOKEN = DriverStatement(
    "INSERT INTO api_tokens (user_id, token_hash, created_at)"
    " VALUES (:user_id, :token_hash, :created_at)",
    datetimes=("created_at",),
)
TOKENS_SINCE = DriverStatement(
    "SELECT count(*) FROM api_tokens WHERE created_at >= :since", datetimes=("since",)
)
TOKENS_UNTIL = DriverStatement(
    "SELECT count(*) FROM api_tokens WHERE created_at <= :until", datetimes=("until",)
)


def test_driver_statement_runs_in_the_sessions_transaction(make, now):
    user = make.user()
    params = {"user_id": user.id, "token_hash": "a" * 64, "created_at": now}

    INSERT_TOKEN.first(params)
    db.session.rollback()
    assert db.session.scalar(select(ApiToken)) is None

    INSERT_TOKEN.first(params)
    db.session.commit()
    assert db.session.scalar(select(ApiToken.created_at)) == now
    assert params["created_at"] is now  # the caller's parameters are left as they were


def test_driver_statement_compares_datetimes_as_the_orm_stores_them(make, now):
    user = make.user()
    INSERT_TOKEN.first({"user_id": user.id, "token_hash": "b" * 64, "created_at": now})

    assert TOKENS_SINCE.first({"since": now}) == (1,)
    assert TOKENS_SINCE.first({"since": now + timedelta(microseconds=1)}) == (0,)


def test_driver_statement_datetimes_equal_what_the_orm_wrote(make, now):
    # SQLite keeps text: "…:54" and "…:54.000000" are the same time but not the same text.
    user = make.user()
    db.session.add(ApiToken(user_id=user.id, token_hash="d" * 64, created_at=now))
    db.session.commit()

    assert TOKENS_UNTIL.first({"until": now}) == (1,)
    assert TOKENS_SINCE.first({"since": now}) == (1,)


def test_driver_statement_refuses_a_parameter_inside_quotes():
    with pytest.raises(ValueError):
        DriverStatement("SELECT 'at :noon' WHERE x = :noon")
    DriverStatement("SELECT 1 WHERE opens = '18:30' AND x = :noon")  # not a parameter


def test_driver_statement_raises_sqlalchemy_errors(app):
    with pytest.raises(DBAPIError):  # not the driver's own exception
        DriverStatement("SELECT * FROM no_such_table WHERE id = :id").first({"id": 1})
    db.session.rollback()


def test_driver_statement_raises_sqlalchemy_integrity_error(make, now):
    user = make.user()
    params = {"user_id": user.id, "token_hash": "c" * 64, "created_at": now}
    INSERT_TOKEN.first(params)

    with pytest.raises(IntegrityError):
        INSERT_TOKEN.first(params)
    db.session.rollback()
