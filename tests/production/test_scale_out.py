"""Scale-out, proven on this machine: two gunicorn servers on two loopback ports and two mail
workers against one PostgreSQL database, rate limits in Redis, mail to an SMTP sink.

Check-ins and connections are driven across both servers at once (the same pass and the same
pair through both at the same moment included), then the meeting ends and both workers race
to queue and deliver its follow-ups. The database holds exact counts, every mail reaches the
sink once (Message-IDs compared), and a rate limit hit on one server holds on the other.
"""

import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from . import cluster
from .cluster import Cluster, MailSink, query, wait_for

cluster.require_postgres()

MEMBERS = 60
BOTH = 10  # passes sent to both servers at the same moment
ONE = 40  # passes sent once, alternately to each server; the rest stay away


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Two servers, two mail workers, one database, an SMTP sink (a slow one: 50 ms a
    message, so that a batch lasts long enough for the second worker to take the next)."""
    cluster.require_redis()
    url = cluster.database()
    sink = MailSink(delay=0.05).start()
    c = Cluster(url, tmp_path_factory.mktemp("scale-out"), mail_port=sink.port)
    try:
        seeded = cluster.seed(url, MEMBERS)
        servers = c.start_server(), c.start_server()
        workers = c.start_worker(), c.start_worker()
        c.wait_ready(*servers)
        yield c, servers, workers, sink, seeded
    finally:
        c.close()
        sink.stop()
        cluster.forget_rate_limits(c.redis_prefix)


def _auth(seeded):
    return {"Authorization": f"Bearer {seeded.api_token}"}


def _at_once(calls):
    """Run the zero-argument ``calls`` in threads released together; their answers."""
    barrier = threading.Barrier(len(calls))
    answers = [None] * len(calls)

    def run(i):
        barrier.wait(10)
        answers[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers


def test_check_ins_connections_and_follow_ups_across_two_servers_and_two_workers(site):
    c, (one, two), workers, sink, seeded = site
    url, meeting = c.database_url, seeded.meeting_id
    headers = _auth(seeded)

    def check_in(server, token, nonce):
        body = {"token": token, "meeting_id": meeting, "nonce": nonce}
        return server.call("POST", "/api/v1/checkins", body, headers)

    # The same pass through both servers at the same moment: one check-in, one "already".
    doubles = [
        _at_once(
            [
                lambda t=token, i=i: check_in(one, t, f"both-1-{i:04d}"),
                lambda t=token, i=i: check_in(two, t, f"both-2-{i:04d}"),
            ]
        )
        for i, (_, token) in enumerate(seeded.passes[:BOTH])
    ]
    for answers in doubles:
        assert sorted(a.status for a in answers) == [200, 201], [a.body for a in answers]
        statuses = {a.status: a.json()["status"] for a in answers}
        assert statuses == {201: "checked_in", 200: "already_checked_in"}
        # Both answers name the one check-in time.
        assert len({a.json()["checked_in_at"] for a in answers}) == 1
    # The others, alternately to each server, eight at a time.
    singles = seeded.passes[BOTH : BOTH + ONE]
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda i: check_in((one, two)[i % 2], singles[i][1], f"one-{i:04d}"),
                range(ONE),
            )
        )
    assert [a.status for a in answers] == [201] * ONE, [a.body for a in answers if a.status != 201]

    present = [reg for reg, _ in seeded.passes[: BOTH + ONE]]
    assert cluster.check_ins(url, meeting) == dict.fromkeys(present, 1)
    assert cluster.stray_check_in_events(url, meeting) == 0

    # Connections: every pair through both servers at once (one 201, one 200), then listed
    # the same by either server.
    pairs = [(present[i], present[i + 1]) for i in range(0, 20, 2)]
    pairs += [(present[i], present[i + 2]) for i in range(0, 20, 4)]
    path = f"/api/v1/meetings/{meeting}/connections"
    for a, b in pairs:
        answers = _at_once(
            [
                lambda a=a, b=b: one.call("POST", path, {"a": a, "b": b}, headers),
                lambda a=a, b=b: two.call("POST", path, {"a": b, "b": a}, headers),
            ]
        )
        assert sorted(x.status for x in answers) == [200, 201], [x.body for x in answers]
        assert len({x.json()["id"] for x in answers}) == 1
    stored = query(
        url,
        "SELECT count(*), count(DISTINCT (user_a_id, user_b_id)) FROM connections "
        "WHERE meeting_id = %s",
        (meeting,),
    )
    assert stored == [(len(pairs), len(pairs))]
    listed = [
        {
            frozenset((x["a"]["registration_id"], x["b"]["registration_id"]))
            for x in s.call("GET", path, headers=headers).json()["connections"]
        }
        for s in (one, two)
    ]
    assert listed[0] == listed[1] == {frozenset(p) for p in pairs}

    # The meeting ends: both workers' rounds find its follow-ups due, one queues them (the
    # outbox's dedup keys and the meeting's stamp), and both deliver.
    query(
        url,
        "UPDATE meetings SET checkin_opens_at = now() - interval '4 hours', "
        "starts_at = now() - interval '3 hours', ends_at = now() - interval '1 minute', "
        "checkin_closes_at = now() - interval '1 minute' WHERE id = %s",
        (meeting,),
    )

    def delivered():
        rows = cluster.outbox_rows(url, "kind = 'followup' AND meeting_id = %s", (meeting,))
        return rows if rows and all(r[1] == "sent" for r in rows) else None

    followups = wait_for(delivered, 60, "the follow-ups delivered")
    assert len(followups) == BOTH + ONE  # one per member checked in, none for the absent
    recipients = query(
        url,
        "SELECT o.recipient, u.email FROM outbox_messages o JOIN users u ON u.id = o.user_id "
        "JOIN registrations r ON r.user_id = u.id AND r.meeting_id = o.meeting_id "
        "WHERE o.kind = 'followup' AND o.meeting_id = %s AND r.checked_in_at IS NOT NULL",
        (meeting,),
    )
    assert len(recipients) == BOTH + ONE and all(r == e for r, e in recipients)
    assert {r[2] for r in followups} == {1}  # each sent at its first attempt

    # The sink holds every follow-up exactly once, and nothing but sent messages of the
    # outbox, each once (the database is the test run's: other modules' mail may be sent too).
    ids = {r[0] for r in followups}
    wait_for(lambda: ids <= set(sink.message_ids()), 10, "the sink to hold every follow-up")
    received = Counter(sink.message_ids())
    assert set(received.values()) == {1}, [m for m, n in received.items() if n > 1]
    sent = {r[0] for r in cluster.outbox_rows(url, "status = 'sent'")}
    assert ids <= set(received) <= sent
    assert cluster.outbox_rows(url, "meeting_id = %s AND status <> 'sent'", (meeting,)) == []

    # Both workers delivered part of it (their round lines), together each message once.
    by_worker = [
        sum(int(n) for n in re.findall(r"round \d+: sent (\d+)", w.output())) for w in workers
    ]
    assert sum(by_worker) == len(received)
    assert all(n > 0 for n in by_worker), by_worker
    print(f"follow-ups sent by the two workers: {by_worker}")


def _csrf(server):
    """A sign-in link form's CSRF token and the session cookie it belongs to."""
    page = server.call("GET", "/login/link")
    assert page.status == 200
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.body).group(1).decode()
    return token, "; ".join(page.cookies)


def _ask_link(server, email):
    token, cookie = _csrf(server)
    return server.call(
        "POST",
        "/login/link",
        f"csrf_token={token}&email={email}",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )


def test_a_rate_limit_hit_on_one_server_holds_on_the_other(site):
    c, (one, two), _, _, _ = site
    # Sign-in link requests: 5 a minute from one address. Each asks for another (unknown)
    # address, so only the per-address limit counts.
    for i in range(5):
        assert _ask_link(one, f"nobody{i}@cluster.test").status == 200
    refused = _ask_link(two, "nobody5@cluster.test")
    assert refused.status == 429
    assert 0 < int(refused.headers["retry-after"]) <= 60
    # Reading the form is not limited, on either server.
    assert one.call("GET", "/login/link").status == two.call("GET", "/login/link").status == 200
    # The counts live in Redis under this cluster's own prefix (the other half of the suite
    # may use the same Redis at the same time).
    import redis

    keys = redis.Redis.from_url(cluster.REDIS_URL).keys(f"*/{c.redis_prefix}/127.0.0.1/*")
    assert keys, "no rate-limit count under the cluster's prefix"
