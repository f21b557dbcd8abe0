"""Faults a production site meets, on real processes: nothing lost, nothing twice.

- kill -9 of a gunicorn worker under load: every check-in answered 2xx is stored once, the
  master starts a new worker, the server keeps answering;
- kill -9 of a mail worker mid-batch: its claims hold until the stale limit, then another
  worker sends them; the one message the relay had taken when the worker died goes again,
  with its Message-ID (the documented window SMTP leaves; receivers drop the duplicate);
- the SMTP server away mid-batch and back: every message arrives once;
- PostgreSQL unreachable for 10 s mid-load (a TCP proxy the test cuts): answers are 503 with
  Retry-After within the configured timeouts, never a 500 or a hang, every 2xx is stored, and
  the same processes serve again afterwards;
- a check-in's database connection lost as its statement goes out, or as the answer comes
  back: 503, and the retry is stored once.

Time, where the app waits for it (the ten-minute stale limit, a minute of retry backoff), is
moved on in the database: the rows' claim and retry times are set back by what waiting would
have done, and the unmodified worker then does the rest.
"""

import itertools
import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from . import cluster
from .cluster import Cluster, MailSink, query, wait_for
from .tcp_proxy import BLACKHOLE, REFUSE, TcpProxy

cluster.require_postgres()

MEMBERS = 1500
CONNECT_TIMEOUT = 2  # seconds: what a request waits for a database that does not answer
POOL_TIMEOUT = 2
STATEMENT_TIMEOUT_MS = 5000


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One gunicorn server (2 sync workers) reaching PostgreSQL through a proxy the tests can
    cut, short database timeouts; mail workers are the tests' own."""
    url = cluster.database()
    proxy = TcpProxy(cluster.server_port(url)).start()
    c = Cluster(
        url,
        tmp_path_factory.mktemp("faults"),
        settings={
            "DATABASE_CONNECT_TIMEOUT": CONNECT_TIMEOUT,
            "DATABASE_POOL_TIMEOUT": POOL_TIMEOUT,
            "DATABASE_STATEMENT_TIMEOUT_MS": STATEMENT_TIMEOUT_MS,
        },
    )
    try:
        seeded = cluster.seed(url, MEMBERS)
        server = c.start_server(database_url=cluster.with_port(url, proxy.port))
        c.wait_ready(server)
        yield c, server, proxy, seeded, iter(seeded.passes)
    finally:
        c.close()
        proxy.stop()
        cluster.forget_rate_limits(c.redis_prefix)


def _check_in(server, seeded, token, nonce, timeout=30.0):
    body = {"token": token, "meeting_id": seeded.meeting_id, "nonce": nonce}
    return server.call(
        "POST",
        "/api/v1/checkins",
        body,
        {"Authorization": f"Bearer {seeded.api_token}"},
        timeout=timeout,
    )


def _stored_once(url, meeting_id, registrations):
    """Each of ``registrations`` checked in, with exactly one check-in event."""
    stored = cluster.check_ins(url, meeting_id)
    missing = [r for r in registrations if r not in stored]
    twice = {r: n for r, n in stored.items() if n != 1}
    assert not missing, f"answered 2xx but not stored: {missing}"
    assert not twice, f"stored more than once: {twice}"
    assert cluster.stray_check_in_events(url, meeting_id) == 0


def test_a_web_worker_killed_mid_load_loses_no_answered_check_in(site):
    c, server, _, seeded, passes = site
    batch = list(itertools.islice(passes, 200))
    before = server.worker_pids()
    assert len(before) == 2
    victim, answered, killed = before[0], [], threading.Event()
    lock = threading.Lock()

    def one(item):
        n, (reg, token) = item
        answer = _check_in(server, seeded, token, f"kill-web-{n:05d}")
        with lock:
            answered.append(answer)
            if len(answered) == 60:  # mid-load: the victim is serving one of eight requests
                os.kill(victim, signal.SIGKILL)
                killed.set()
        return reg, token, n, answer

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, enumerate(batch)))
    assert killed.is_set()

    # Only the request the victim was serving can go unanswered (sync workers take one at a
    # time; the others wait in the shared listen queue and are served by the other worker).
    lost = [r for r in results if r[3].status is None]
    assert {r[3].status for r in results} <= {201, None}, Counter(r[3].status for r in results)
    assert len(lost) <= 1, [r[3].error for r in lost]
    _stored_once(c.database_url, seeded.meeting_id, [r[0] for r in results if r[3].status])

    # The master replaced the worker; the server answers on.
    wait_for(
        lambda: len(server.worker_pids()) == 2 and victim not in server.worker_pids(),
        20,
        "gunicorn to replace the killed worker",
    )
    assert server.alive()
    # The client retries what it got no answer for, with the same nonce: checked in now, or
    # the first attempt's own answer if that one was stored before the kill.
    for reg, token, n, _ in lost:
        retry = _check_in(server, seeded, token, f"kill-web-{n:05d}")
        assert retry.status in (200, 201) and retry.json()["registration_id"] == reg
    _stored_once(c.database_url, seeded.meeting_id, [r[0] for r in results])
    assert server.call("GET", "/readyz").status == 200


def test_postgres_unreachable_for_ten_seconds_answers_503_and_recovers(site):
    c, server, proxy, seeded, passes = site
    workers_before = sorted(server.worker_pids())
    results, lock, stop = [], threading.Lock(), threading.Event()
    counter = itertools.count()

    def load():
        while not stop.is_set():
            with lock:
                item = next(passes, None)
            if item is None:
                return
            reg, token = item
            nonce = f"outage-{next(counter):05d}"
            started = time.monotonic()
            answer = _check_in(server, seeded, token, nonce)
            with lock:
                results.append((started, reg, token, nonce, answer))
            stop.wait(0.05)  # a door's pace, not a flood: bounded load

    def answered(after, status):
        with lock:
            return sum(1 for r in results if r[0] >= after and r[4].status == status)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: answered(0, 201) >= 20, 20, "check-ins before the outage")
        # The database goes away: open connections are cut; for 5 s new ones hang (a dropped
        # route: only the connect timeout ends them), then for 5 s they are refused.
        outage = time.monotonic()
        proxy.outage(BLACKHOLE)
        probes = []
        while time.monotonic() < outage + 5:
            probes.append(server.call("GET", "/readyz", timeout=30))
            stop.wait(0.2)
        proxy.outage(REFUSE)
        while time.monotonic() < outage + 10:
            probes.append(server.call("GET", "/healthz", timeout=30))
            stop.wait(0.2)
        back = time.monotonic()
        proxy.restore()
        # Service resumes by itself: ready again, check-ins stored again.
        wait_for(
            lambda: server.call("GET", "/readyz").status == 200, 20, "/readyz 200 after the outage"
        )
        wait_for(lambda: answered(back, 201) >= 20, 20, "check-ins after the outage")
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)

    statuses = Counter(r[4].status for r in results)
    # A clean 503 or a stored check-in: never a 500, never a dropped connection.
    unexplained = set(statuses) - {201, 503}
    assert not unexplained, (statuses, _errors(results))
    during = [r[4] for r in results if outage + 1 <= r[0] and r[0] + r[4].seconds <= back]
    assert during and {a.status for a in during} == {503}, Counter(a.status for a in during)
    for a in during[:3]:
        assert a.json()["error"]["code"] == "unavailable" and a.headers["retry-after"]
    # No request hangs beyond the timeouts: a connect timeout, a queue of at most one
    # request ahead of it per worker (2 workers, 4 clients), and slack for a busy machine.
    slowest = max(r[4].seconds for r in results)
    assert slowest < 3 * CONNECT_TIMEOUT + 4, slowest
    assert {p.status for p in probes} == {503}, Counter(p.status for p in probes)
    assert all(p.seconds < 3 * CONNECT_TIMEOUT + 4 for p in probes)
    # The last probe: /healthz's JSON error, or /readyz's "not ready" when the outage's first
    # half (connections hanging until the connect timeout) took all ten seconds on a busy machine.
    last = probes[-1].json()
    assert last.get("error", {}).get("code") == "unavailable" or last == {
        "status": "not ready",
        "reason": "database unreachable",
    }, last

    url, meeting = c.database_url, seeded.meeting_id
    _stored_once(url, meeting, [r[1] for r in results if r[4].status == 201])
    # The door retries what answered 503, with the same nonces: all of it stored once.
    failed = [r for r in results if r[4].status == 503]
    for _, reg, token, nonce, _ in failed:
        retry = _check_in(server, seeded, token, nonce)
        assert retry.status in (200, 201) and retry.json()["registration_id"] == reg
    _stored_once(url, meeting, [r[1] for r in results])
    # The same processes serve: no restart, no worker killed by gunicorn's own timeout.
    assert sorted(server.worker_pids()) == workers_before
    print(f"outage: {dict(statuses)}; slowest answer {slowest:.1f} s")


def _errors(results):
    return [r[4].body[:300] or r[4].error for r in results if r[4].status not in (201, 503)]


@pytest.mark.parametrize(
    "answered", [False, True], ids=["statement never arrives", "answer never comes back"]
)
def test_a_database_connection_lost_at_the_check_in_answers_503(site, answered):
    """The door's check-in is one statement, committed by the server as it runs (autocommit,
    its own connection). That connection lost as the statement goes out (the server never
    runs it) or as its answer comes back (the server has stored it; the app cannot know) is
    the database going away too: 503, and the client's retry with the same nonce is stored
    once and answered as a check-in of that pass."""
    c, server, proxy, seeded, passes = site
    reg, token = next(passes)
    nonce = f"lost-{'answer' if answered else 'statement'}-{reg}"
    # The nonce is a parameter of the check-in's statement, in no other statement.
    proxy.cut_at(nonce.encode(), answered=answered)
    lost = _check_in(server, seeded, token, nonce)
    assert lost.status == 503, (lost.status, lost.body[:300])
    assert proxy.trapped.wait(5), "the check-in's statement never passed the proxy"
    assert lost.json()["error"]["code"] == "unavailable" and lost.headers["retry-after"]
    stored = cluster.check_ins(c.database_url, seeded.meeting_id)
    assert (reg in stored) == answered  # the server ran it exactly when it got it

    retry = _check_in(server, seeded, token, nonce)
    assert retry.status == 201, (retry.status, retry.body[:300])
    assert retry.json()["registration_id"] == reg and retry.json()["status"] == "checked_in"
    _stored_once(c.database_url, seeded.meeting_id, [reg])


def _counts(url, ids):
    rows = query(
        url,
        "SELECT status, count(*) FROM outbox_messages WHERE message_id = ANY(%s) GROUP BY status",
        (list(ids),),
    )
    return dict(rows)


def test_a_mail_worker_killed_mid_batch_leaves_nothing_unsent(site):
    c, _, _, _, _ = site
    url = c.database_url
    ids = cluster.queue_test_mail(url, 40)
    sink = MailSink(delay=0.02).start()
    try:
        held = sink.hold(8, keep=True)  # the relay has taken message 8 when its worker dies
        workers = [c.start_worker(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port) for _ in "ab"]
        assert held.reached.wait(60), [w.output() for w in workers]
        # The worker sending it is named by its claim (host:pid:run).
        [(name,)] = query(
            url, "SELECT claimed_by FROM outbox_messages WHERE message_id = %s", (held.message_id,)
        )
        victim = next(w for w in workers if w.pid == int(name.rsplit(":", 2)[1]))
        victim.kill()
        held.release()
        claimed = {
            m
            for (m,) in query(
                url,
                "SELECT message_id FROM outbox_messages WHERE claimed_by = %s "
                "AND status = 'sending'",
                (name,),
            )
        }
        assert held.message_id in claimed and len(sink.message_ids()) >= 8

        # The other worker sends everything else; the dead worker's claims hold (they look like
        # a slow relay's) until the stale limit.
        wait_for(
            lambda: _counts(url, ids) == {"sent": 40 - len(claimed), "sending": len(claimed)},
            60,
            "the other worker to send all but the dead worker's claims",
        )
        # Ten minutes later (moved on in the database) they are stale: the other worker takes
        # and sends them.
        query(
            url,
            "UPDATE outbox_messages SET claimed_at = claimed_at - interval '10 minutes 1 second' "
            "WHERE claimed_by = %s AND status = 'sending'",
            (name,),
        )
        wait_for(lambda: _counts(url, ids) == {"sent": 40}, 30, "every message sent")
        received = Counter(m for m in sink.message_ids() if m in ids)
        assert set(received) == set(ids)
        # Nothing lost. Twice: only the message in flight when the worker died (the relay
        # took it, its "sent" was never written), with the same Message-ID both times.
        assert {m: n for m, n in received.items() if n > 1} == {held.message_id: 2}
        assert sum(received.values()) == 41
        assert all(r[2] == 1 for r in cluster.outbox_rows(url, "message_id = ANY(%s)", (ids,)))
    finally:
        _end_mail_test(c, url, ids, sink)


def _end_mail_test(c, url, ids, sink):
    """Stop the test's mail workers and sink; its messages leave the outbox (none is left
    for the next test's workers, whatever happened)."""
    for process in list(c.processes):
        if process.name.startswith("worker"):
            process.stop()
            c.processes.remove(process)
    sink.stop()
    query(url, "DELETE FROM outbox_messages WHERE message_id = ANY(%s)", (ids,))


def test_the_smtp_server_away_mid_batch_and_back_delivers_everything_once(site):
    c, _, _, _, _ = site
    url = c.database_url
    ids = cluster.queue_test_mail(url, 30)
    sink = MailSink(delay=0.02).start()
    relay = TcpProxy(sink.port).start()  # the network between the worker and the relay
    try:
        held = sink.hold(10, keep=False)
        worker = c.start_worker(MAIL_SERVER="127.0.0.1", MAIL_PORT=relay.port)
        assert held.reached.wait(60), worker.output()
        # The relay goes away while message 10 is being sent: the connection is cut, new ones
        # are refused; message 10 was not taken.
        relay.outage(REFUSE)
        held.release()
        # The worker notices, hands the rest of its batch back and tries again every round:
        # each try finds no server and puts one message off (retry with backoff).
        wait_for(lambda: relay.accepted >= 4, 20, "the worker to try the relay again")
        wait_for(
            lambda: "sending" not in _counts(url, ids), 10, "the worker to hand its claims back"
        )
        counts = _counts(url, ids)
        assert counts["sent"] == 9 and sum(counts.values()) == 30
        assert len(sink.message_ids()) == 9
        relay.restore()
        # Back: what was never tried goes at once; what failed waits for its backoff.
        wait_for(
            lambda: (
                not query(
                    url,
                    "SELECT 1 FROM outbox_messages WHERE message_id = ANY(%s) "
                    "AND (status = 'sending' OR (status = 'pending' AND attempts = 0))",
                    (ids,),
                )
            ),
            30,
            "the untried messages sent",
        )
        retrying = query(
            url,
            "SELECT count(*), min(next_attempt_at - now()) FROM outbox_messages "
            "WHERE message_id = ANY(%s) AND status = 'pending'",
            (ids,),
        )[0]
        assert retrying[0] >= 2 and retrying[1].total_seconds() > 20
        assert _counts(url, ids) == {"sent": 30 - retrying[0], "pending": retrying[0]}
        # A minute later (moved on in the database) the retries are due and go.
        query(
            url,
            "UPDATE outbox_messages SET next_attempt_at = now() "
            "WHERE message_id = ANY(%s) AND status = 'pending'",
            (ids,),
        )
        wait_for(lambda: _counts(url, ids) == {"sent": 30}, 30, "every message sent")
        received = Counter(m for m in sink.message_ids() if m in ids)
        assert set(received) == set(ids) and set(received.values()) == {1}
    finally:
        relay.stop()
        _end_mail_test(c, url, ids, sink)
