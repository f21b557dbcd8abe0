import threading
from collections import Counter
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select

from eventtrack import worker
from eventtrack.extensions import db
from eventtrack.models import OutboxMessage
from eventtrack.services import outbox
from eventtrack.services.errors import Invalid
from eventtrack.transaction import atomic


class Recording:
    """A transport that keeps what it was given (thread-safe)."""

    def __init__(self, fail=None):
        self.sent = []
        self.fail = fail or {}
        self.lock = threading.Lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send(self, data, recipient):
        error = self.fail.get(recipient)
        if error is not None:
            raise error
        with self.lock:
            self.sent.append((outbox.message_id_of(data), recipient, data))


def queue(n, now, **kw):
    for i in range(n):
        outbox.enqueue(
            kind="test",
            dedup_key=f"test:{kw.get('key', '')}{i}",
            recipient=f"r{i}@example.com",
            subject=f"Message {i}",
            body_text=f"Hello {i}",
            now=now,
        )
    db.session.commit()


def rows():
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_enqueue_twice_with_one_dedup_key_queues_once(app, now):
    args = dict(kind="t", dedup_key="k", recipient="a@example.com", subject="s", body_text="b")
    assert outbox.enqueue(**args, now=now) is True
    assert outbox.enqueue(**args, now=now) is False
    db.session.commit()
    assert len(rows()) == 1


def test_message_id_is_fixed_at_enqueue_and_survives_retries(app, now):
    queue(1, now)
    (row,) = rows()
    message_id = row.message_id
    assert message_id.startswith("<") and message_id.endswith("@eventtrack.invalid>")
    flaky = Recording(fail={"r0@example.com": outbox.TemporaryFailure("451 later")})
    worker.deliver_pending(flaky, now)
    ok = Recording()
    worker.deliver_pending(ok, now + timedelta(minutes=1))
    assert [m for m, _, _ in ok.sent] == [message_id]


def test_mime_is_text_html_and_attachment_with_list_unsubscribe(app, now, make):
    user = make.user(name="Uma")
    outbox.enqueue(
        kind="t",
        dedup_key="k",
        recipient=user.email,
        recipient_name=user.name,
        subject="Hi",
        body_text="plain body",
        body_html="<p>html body</p>",
        headers=outbox.unsubscribe_headers(user),
        attachments=[{"filename": "c.vcf", "content_type": "text/vcard", "content": "BEGIN:VCARD"}],
        now=now,
    )
    db.session.commit()
    rec = Recording()
    worker.deliver_pending(rec, now)
    msg = message_from_bytes(rec.sent[0][2], policy=policy.default)

    assert msg.get_content_type() == "multipart/mixed"
    body = msg.get_body(("plain",))
    assert body.get_content().strip() == "plain body"
    assert msg.get_body(("html",)).get_content().strip() == "<p>html body</p>"
    (att,) = list(msg.iter_attachments())
    assert att.get_filename() == "c.vcf" and att.get_content_type() == "text/vcard"
    assert att.get_content().rstrip() == "BEGIN:VCARD"
    assert msg["List-Unsubscribe"].strip().startswith("<http://eventtrack.test/unsubscribe/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["To"] == f"Uma <{user.email}>"
    assert msg["Date"] and msg["Auto-Submitted"] == "auto-generated"


def test_one_click_unsubscribe_link_works_without_signing_in(app, client, make):
    user = make.user(followup_emails=True)
    url = outbox.unsubscribe_headers(user)["List-Unsubscribe"].strip("<>")
    path = url.removeprefix("http://eventtrack.test")
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    db.session.refresh(user)
    assert user.followup_emails is False


def test_header_injection_in_name_and_subject_stays_one_line(app, now):
    outbox.enqueue(
        kind="t",
        dedup_key="k",
        recipient="a@example.com",
        recipient_name="Eve\r\nBcc: victim@example.com",
        subject="Hi\r\nBcc: victim@example.com",
        body_text="x",
        now=now,
    )
    db.session.commit()
    rec = Recording()
    worker.deliver_pending(rec, now)
    (_, recipient, raw) = rec.sent[0]
    msg = message_from_bytes(raw, policy=policy.default)
    assert recipient == "a@example.com"
    assert msg["Bcc"] is None
    assert "victim@example.com" in msg["Subject"]  # harmless text, not a header
    assert b"\r\nBcc:" not in raw


@pytest.mark.parametrize(
    "recipient",
    [
        "a@example.com\r\nBcc: b@example.com",
        "a@example.com, b@example.com",
        "A <a@example.com>",
        "",
    ],
)
def test_recipient_must_be_one_plain_address(app, now, recipient):
    with pytest.raises(Invalid):
        outbox.enqueue(
            kind="t", dedup_key="k", recipient=recipient, subject="s", body_text="b", now=now
        )


@pytest.mark.parametrize("name", ["Bcc", "To", "X-Bad\r\nBcc", "X Space"])
def test_callers_cannot_set_addressing_headers(app, now, name):
    with pytest.raises(Invalid):
        outbox.enqueue(
            kind="t",
            dedup_key="k",
            recipient="a@example.com",
            subject="s",
            body_text="b",
            headers={name: "x"},
            now=now,
        )


def test_temporary_failures_back_off_exponentially_then_give_up(app, now):
    queue(1, now)
    flaky = Recording(fail={"r0@example.com": outbox.TemporaryFailure("451 try later")})
    when = now
    waits = []
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        summary = worker.deliver_pending(flaky, when)
        assert (summary.retrying, summary.sent) == (1, 0)
        (row,) = rows()
        waits.append(row.next_attempt_at - when)
        # Not due before the backoff has passed.
        assert (
            worker.deliver_pending(flaky, row.next_attempt_at - timedelta(seconds=1)).handled == 0
        )
        when = row.next_attempt_at
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    summary = worker.deliver_pending(flaky, when)
    (row,) = rows()
    assert summary.failed == 1 and row.status == "failed"
    assert row.attempts == outbox.MAX_ATTEMPTS
    assert row.last_error.startswith(f"gave up after {outbox.MAX_ATTEMPTS} attempts: 451")


def test_permanent_failure_is_kept_with_its_reason_and_others_still_go(app, now):
    queue(3, now)
    rec = Recording(fail={"r1@example.com": outbox.PermanentFailure("550 no such user")})
    summary = worker.deliver_pending(rec, now)
    assert (summary.sent, summary.failed, summary.retrying) == (2, 1, 0)
    failed = [r for r in rows() if r.status == "failed"]
    assert [(r.recipient, r.last_error, r.attempts) for r in failed] == [
        ("r1@example.com", "550 no such user", 1)
    ]
    assert worker.deliver_pending(rec, now + timedelta(days=1)).handled == 0


def test_no_connection_releases_the_rest_of_the_batch_untried(app, now):
    queue(4, now)
    down = Recording(fail={"r0@example.com": outbox.ConnectionFailure("refused")})
    summary = worker.deliver_pending(down, now)
    assert (summary.retrying, summary.sent) == (1, 0)
    states = [(r.status, r.attempts) for r in rows()]
    assert states == [("pending", 1), ("pending", 0), ("pending", 0), ("pending", 0)]
    assert all(r.claimed_by == "" for r in rows())
    assert outbox.due_count(now) == 3


def test_limit_spans_several_small_batches(app, now):
    queue(7, now)
    rec = Recording()
    assert worker.deliver_pending(rec, now, limit=5, batch_size=2).sent == 5
    assert worker.deliver_pending(rec, now, limit=5, batch_size=2).sent == 2
    assert len({m for m, _, _ in rec.sent}) == 7


def test_a_claim_is_exclusive_until_it_goes_stale(app, now):
    queue(3, now)
    with atomic():
        first = outbox.claim_batch(now, 10, "w1")
    assert len(first) == 3
    with atomic():
        assert outbox.claim_batch(now, 10, "w2") == []
    with atomic():
        assert outbox.claim_batch(now + outbox.STALE_CLAIM - timedelta(seconds=1), 10, "w2") == []
    # A worker that died: its rows are taken over, and its late result no longer counts.
    with atomic():
        stale = now + outbox.STALE_CLAIM + timedelta(seconds=1)
        assert outbox.claim_batch(stale, 10, "w2") == first
    with atomic():
        assert outbox.settle(first[0], "w1", status="sent") is False
    with atomic():
        assert outbox.settle(first[0], "w2", status="sent") is True


def test_concurrent_workers_never_send_a_message_twice(app, now):
    queue(60, now)
    rec = Recording()
    errors = []
    barrier = threading.Barrier(3)

    def work():
        try:
            with app.app_context():
                barrier.wait()
                while worker.deliver_pending(rec, now, limit=7, batch_size=3).handled:
                    pass
                db.session.remove()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    counts = Counter(m for m, _, _ in rec.sent)
    assert len(counts) == 60 and set(counts.values()) == {1}
    assert {r.status for r in rows()} == {"sent"}


def test_file_transport_writes_one_eml_per_message(app, now, tmp_path):
    queue(2, now)
    summary = worker.deliver_pending(outbox.FileTransport(tmp_path), now)
    assert summary.sent == 2
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2
    ids = {message_from_bytes(f.read_bytes())["Message-ID"] for f in files}
    assert ids == {r.message_id for r in rows()}


def test_unicode_names_subjects_and_long_lines_survive_the_wire_format(app, now):
    outbox.enqueue(
        kind="t",
        dedup_key="k",
        recipient="zoe@example.com",
        recipient_name="Zoë Ångström",
        subject="Nachbereitung: Größe " + "ß" * 200,
        body_text="x" * 5000 + "\nZoë",
        body_html="<p>" + "y" * 5000 + "</p>",
        now=now,
    )
    db.session.commit()
    rec = Recording()
    worker.deliver_pending(rec, now)
    raw = rec.sent[0][2]
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")
    msg = message_from_bytes(raw, policy=policy.default)
    assert str(msg["Subject"]) == "Nachbereitung: Größe " + "ß" * 200
    assert msg["To"].addresses[0].display_name == "Zoë Ångström"
    assert msg.get_body(("plain",)).get_content().endswith("Zoë")
    assert rec.sent[0][0] == rows()[0].message_id


def test_a_stop_request_hands_the_untried_rest_back(app, now):
    queue(5, now)
    stop = threading.Event()

    class StopsAfterTwo(Recording):
        def send(self, data, recipient):
            super().send(data, recipient)
            if len(self.sent) == 2:
                stop.set()

    rec = StopsAfterTwo()
    summary = worker.deliver_pending(rec, now, stop=stop)
    assert summary.sent == 2
    assert [r.status for r in rows()] == ["sent", "sent", "pending", "pending", "pending"]
    assert all(r.claimed_by == "" and r.attempts == 0 for r in rows()[2:])


def test_delivery_will_not_start_over_changes_nobody_committed(app, now, make):
    queue(1, now)
    user = make.user()
    user.name = "Changed, not committed"
    db.session.flush()
    rec = Recording()
    with pytest.raises(RuntimeError, match="atomic"):
        worker.deliver_pending(rec, now)
    db.session.rollback()
    assert rec.sent == [] and [r.status for r in rows()] == ["pending"]


def test_the_handmade_message_says_what_email_message_would_build():
    # bench/handmade.py times both builders; they must build the same message for that to count.
    from bench import handmade

    met = handmade.people()
    rows = [handmade.followup_row(met, "BEGIN:VCARD\r\nEND:VCARD\r\n"), handmade.signin_row()]
    for row in rows:
        handmade.same_message(
            outbox.build_message(row, handmade.SENDER),
            handmade.build_with_stdlib(row, handmade.SENDER),
        )
