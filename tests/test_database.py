"""The hot path's database layer: driver-level statements and transactions, SQLite's writers'
queue and its background checkpoints (``eventtrack.database``)."""

import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from eventtrack import create_app
from eventtrack.database import DriverStatement, DriverTransaction, _sqlite_writers
from eventtrack.extensions import db
from eventtrack.models import ApiToken, Group, User

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


def _tokens() -> int:
    return db.session.scalar(select(func.count(ApiToken.id)))


def test_driver_transaction_commits_on_a_connection_of_its_own(make, now):
    user = make.user()
    assert not db.session().in_transaction()

    with DriverTransaction.own() as tx:
        INSERT_TOKEN.first({"user_id": user.id, "token_hash": "e" * 64, "created_at": now}, tx)
        assert _tokens() == 0  # the session's connection does not see it yet
        db.session.rollback()
        tx.commit()

    assert _tokens() == 1


def test_driver_transaction_rolls_back_what_it_did_not_commit(make, now):
    user = make.user()
    with DriverTransaction.own() as tx:
        INSERT_TOKEN.first({"user_id": user.id, "token_hash": "f" * 64, "created_at": now}, tx)
    with DriverTransaction.own() as tx:
        INSERT_TOKEN.first({"user_id": user.id, "token_hash": "g" * 64, "created_at": now}, tx)
        tx.rollback()

    assert _tokens() == 0
    assert db.engine.pool.checkedout() <= 1  # both connections went back (the session's stays)


def test_a_joined_driver_transaction_is_the_sessions(make, now):
    user = make.user()
    db.session.add(ApiToken(user_id=user.id, token_hash="h" * 64, created_at=now))
    db.session.flush()
    connections = db.engine.pool.checkedout()

    with DriverTransaction.joined() as tx:
        assert tx.mode == DriverTransaction.JOINED
        INSERT_TOKEN.first({"user_id": user.id, "token_hash": "i" * 64, "created_at": now}, tx)
        assert db.engine.pool.checkedout() == connections  # no second connection
        tx.commit()  # the session's commit: both rows

    db.session.rollback()
    assert _tokens() == 2


def test_an_own_driver_transaction_refuses_a_session_holding_unsaved_changes(make, now):
    user = make.user()
    db.session.add(ApiToken(user_id=user.id, token_hash="j" * 64, created_at=now))
    db.session.flush()

    with pytest.raises(RuntimeError, match="unsaved"):
        DriverTransaction.own(writes=True)

    db.session.rollback()
    assert _tokens() == 0


def test_an_own_driver_transaction_ends_a_read_only_session_first(make, now):
    user = make.user()
    db.session.commit()
    assert db.session.get(User, user.id) is not None  # a read: the session is in a transaction
    assert db.session().in_transaction()

    with DriverTransaction.own(writes=True) as tx:
        assert tx.mode == DriverTransaction.OWN
        assert not db.session().in_transaction()
        assert db.engine.pool.checkedout() == 1  # one connection at a time, not two
        INSERT_TOKEN.first({"user_id": user.id, "token_hash": "k" * 64, "created_at": now}, tx)
        tx.commit()

    assert _tokens() == 1 and user.email  # the session's objects are still usable


def _server_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("single_statements is PostgreSQL's: run on the PostgreSQL half of the suite")


def test_single_statements_commit_each_statement_as_it_runs(make, now):
    _server_only()
    user = make.user()
    db.session.commit()

    with DriverTransaction.single_statements() as tx:
        INSERT_TOKEN.first({"user_id": user.id, "token_hash": "l" * 64, "created_at": now}, tx)
        db.session.rollback()
        assert _tokens() == 1  # stored already, without a commit
        with pytest.raises(IntegrityError):
            INSERT_TOKEN.first({"user_id": user.id, "token_hash": "l" * 64, "created_at": now}, tx)
        # A failed statement undid only itself: the next one runs (no transaction aborted).
        INSERT_TOKEN.first({"user_id": user.id, "token_hash": "n" * 64, "created_at": now}, tx)

    db.session.rollback()
    assert _tokens() == 2


def test_single_statements_give_the_connection_back_out_of_autocommit(make, now):
    _server_only()
    user = make.user()
    db.session.commit()
    with DriverTransaction.single_statements() as tx:
        pooled = tx.dbapi_connection
        assert pooled.autocommit
    assert not pooled.autocommit  # the pool's next user gets transactions

    # The same connection, taken by the next transaction: what it does not commit is undone.
    with DriverTransaction.own() as tx:
        assert tx.dbapi_connection is pooled
        INSERT_TOKEN.first({"user_id": user.id, "token_hash": "m" * 64, "created_at": now}, tx)
    db.session.rollback()
    assert _tokens() == 0


def test_single_statements_refuse_sqlite(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the refusal is SQLite's: run on the SQLite half of the suite")
    with pytest.raises(ValueError, match="PostgreSQL only"):
        DriverTransaction.single_statements()
    assert db.engine.pool.checkedout() == 0


def _lock_from_another_process(path: str) -> int:
    code = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDWR)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
    )
    return subprocess.run([sys.executable, "-c", code, path], capture_output=True).returncode


def test_sqlite_writers_take_turns_across_threads_and_processes(tmp_path):
    path = str(tmp_path / "queue.sqlite3")
    writers = _sqlite_writers(path)
    assert _sqlite_writers(path) is writers
    assert _sqlite_writers(":memory:") is None

    writers.acquire()
    assert _lock_from_another_process(path + "-writers.lock") != 0
    in_turn = threading.Event()

    def other_thread():
        writers.acquire()
        in_turn.set()
        writers.release()

    thread = threading.Thread(target=other_thread)
    thread.start()
    assert not in_turn.wait(0.3)  # waits while this thread writes
    writers.release()
    assert in_turn.wait(10)
    thread.join()
    assert _lock_from_another_process(path + "-writers.lock") == 0


def _rows_in_the_database_file(path: Path) -> int:
    """Rows of ``groups`` in the database file alone, without its write-ahead log."""
    copy = path.with_name("copy-" + path.name)
    shutil.copyfile(path, copy)
    connection = sqlite3.connect(copy)
    try:
        return connection.execute("SELECT count(*) FROM groups").fetchone()[0]
    except sqlite3.OperationalError:  # the table itself is still only in the log
        return 0
    except sqlite3.DatabaseError:  # copied while a checkpoint was writing it: look again
        return 0
    finally:
        connection.close()
        copy.unlink()


@pytest.mark.parametrize("seconds", [0.05, 0])
def test_sqlite_log_is_copied_into_the_database_in_the_background(app_config, tmp_path, seconds):
    path = tmp_path / "checkpoint.sqlite3"
    config = {**app_config, "DATABASE_URL": f"sqlite:///{path}"}
    app = create_app({**config, "SQLITE_CHECKPOINT_SECONDS": seconds})
    with app.app_context():
        db.create_all()
        db.session.add(Group(name="Checkpointed"))
        db.session.commit()
        autocheckpoint = db.session.execute(text("PRAGMA wal_autocheckpoint")).scalar()
        app.test_client().get("/healthz")  # a process's first request starts the thread

        deadline = time.monotonic() + (10 if seconds else 1)  # without the thread: 1 s
        while _rows_in_the_database_file(path) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        in_file = _rows_in_the_database_file(path)
        db.session.remove()
        db.engine.dispose()

    if seconds:
        assert in_file == 1
        assert autocheckpoint == 10_000  # SQLite's own only if the thread falls behind
    else:  # SQLite's default: the commit that fills 1,000 pages of log copies them back
        assert in_file == 0
        assert autocheckpoint == 1000


def test_pool_pre_ping_only_for_a_database_server(app_config, tmp_path):
    sqlite = create_app({**app_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}"})
    server = create_app({**app_config, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})

    assert not sqlite.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping")
    assert server.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
