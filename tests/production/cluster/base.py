"""Where the cluster's pieces are, what it needs on this machine, and waiting for things."""

import contextlib
import os
import socket
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("EVENTTRACK_TEST_DATABASE_URL")
# Redis database 15 is test_trust's; the other half of the suite may use Redis at the same
# time: every cluster also has a key prefix of its own.
REDIS_URL = "redis://127.0.0.1:6379/14"
IN_CI = os.environ.get("CI") == "true"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float, what: str, every: float = 0.05):
    """Poll ``condition`` until it returns something true; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


# --- what a cluster needs on this machine -------------------------------------------------


def require_postgres() -> None:
    """Skip (the SQLite half of the suite) unless a PostgreSQL server is the test database:
    several servers need a shared server database."""
    if not PG_URL:
        pytest.skip(
            "several app servers need a shared server database: runs on the PostgreSQL half "
            "(EVENTTRACK_TEST_DATABASE_URL), which `make test` runs too",
            allow_module_level=True,
        )


def require_redis() -> None:
    """Skip without Redis, except in CI, where a missing Redis fails the test."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"Redis at {REDIS_URL} does not answer ({exc}): CI needs it")
        pytest.skip(f"Redis at {REDIS_URL} does not answer: shared rate limits need it")


def forget_rate_limits(prefix: str) -> None:
    """Delete a cluster's rate-limit counts from Redis (they would expire within the hour)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    with contextlib.suppress(redis.RedisError):
        keys = client.keys(f"*/{prefix}/*")
        if keys:
            client.delete(*keys)
