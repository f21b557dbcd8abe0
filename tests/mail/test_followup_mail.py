"""Follow-up mail end to end: queue, deliver over real SMTP (aiosmtpd on 127.0.0.1), read."""

import html
import os
import re
import signal
import threading
from collections import Counter
from datetime import timedelta

import vobject
from flask import current_app
from sqlalchemy import select

from eventtrack import worker
from eventtrack.extensions import db
from eventtrack.models import OutboxMessage
from eventtrack.services import followup_mail, outbox
from eventtrack.transaction import atomic

from ..followup_scenarios import attend, meet, past_meeting


def deliver(now, **kw):
    return worker.deliver_pending(outbox.transport_from_config(current_app.config), now, **kw)


def crowd(make, now, n=6):
    """n attendees; each met their two neighbours on a ring; odd ones share contact details."""
    meeting = past_meeting(make.group(), now)
    people = [
        attend(meeting, name=f"Member {i}", share_contact=i % 2 == 1, phone=f"+1 555 01{i:02}")
        for i in range(n)
    ]
    for i in range(n):
        meet(meeting, people[i], people[(i + 1) % n])
    met = {p.id: {people[(i - 1) % n], people[(i + 1) % n]} for i, p in enumerate(people)}
    return meeting, people, met


def listed_names(msg):
    body = msg.get_body(("html",)).get_content()
    return {html.unescape(n) for n in re.findall(r'<strong class="name">(.*?)</strong>', body)}


def test_n_attendees_get_exactly_n_messages_each_with_their_own_people(make, now, smtp):
    meeting, people, met = crowd(make, now)
    with atomic():
        assert followup_mail.queue_followups(meeting, now) == len(people)

    summary = deliver(now)

    assert (summary.sent, summary.retrying, summary.failed) == (len(people), 0, 0), summary.errors
    assert len(smtp.sink.received) == len(people)
    by_rcpt = {}
    for rcpts, msg in smtp.sink.received:
        assert len(rcpts) == 1
        by_rcpt[rcpts[0]] = msg
    assert set(by_rcpt) == {p.email for p in people}
    for p in people:
        msg = by_rcpt[p.email]
        assert listed_names(msg) == {o.name for o in met[p.id]}
        text = msg.get_body(("plain",)).get_content()
        html_body = msg.get_body(("html",)).get_content()
        for other in met[p.id]:
            for body in (text, html_body):
                assert (other.email in body) is other.share_contact
                assert (other.phone in body) is other.share_contact
        strangers = set(people) - met[p.id] - {p}
        assert not any(s.email in text or s.email in html_body for s in strangers)


def test_script_names_arrive_escaped_in_the_html(make, now, smtp):
    meeting = past_meeting(make.group(), now)
    me = attend(meeting, name="Mo")
    evil = attend(meeting, name="<script>alert('x')</script>", share_contact=True)
    meet(meeting, me, evil)
    with atomic():
        followup_mail.queue_followups(meeting, now)
    deliver(now)

    msg = next(m for r, m in smtp.sink.received if r == [me.email])
    body = msg.get_body(("html",)).get_content()
    assert "<script>" not in body
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in body


def test_smtp_answering_421_for_half_a_batch_loses_nothing_and_doubles_nothing(make, now, smtp):
    meeting, people, _ = crowd(make, now, n=10)
    with atomic():
        followup_mail.queue_followups(meeting, now)
    queued = {r.message_id for r in db.session.scalars(select(OutboxMessage))}
    smtp.sink.refuse_next = 5

    first = deliver(now)
    assert (first.sent, first.retrying) == (5, 5)
    assert smtp.sink.refused == 5
    assert deliver(now).handled == 0  # the refused ones wait for their backoff

    second = deliver(now + timedelta(minutes=1))
    assert second.sent == 5
    ids = smtp.sink.message_ids()
    assert len(ids) == 10 and set(ids) == queued
    assert set(Counter(ids).values()) == {1}


def test_server_down_for_the_second_half_then_back_delivers_each_once(make, now, smtp):
    meeting, people, _ = crowd(make, now, n=8)
    with atomic():
        followup_mail.queue_followups(meeting, now)
    assert deliver(now, limit=4).sent == 4
    smtp.stop()

    down = deliver(now)
    assert (down.sent, down.retrying) == (0, 1)  # one tried; the rest released untried
    smtp.start()

    deliver(now)
    deliver(now + timedelta(minutes=1))

    ids = smtp.sink.message_ids()
    assert len(ids) == 8 and set(Counter(ids).values()) == {1}
    assert {r.status for r in db.session.scalars(select(OutboxMessage))} == {"sent"}


def test_two_workers_delivering_at_once_send_nothing_twice(app, make, now, smtp):
    meeting, people, _ = crowd(make, now, n=40)
    with atomic():
        followup_mail.queue_followups(meeting, now)
    errors = []
    barrier = threading.Barrier(2)

    def work():
        try:
            with app.app_context():
                barrier.wait()
                transport = outbox.transport_from_config(app.config)
                while worker.deliver_pending(transport, now, limit=10, batch_size=4).handled:
                    pass
                db.session.remove()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    ids = smtp.sink.message_ids()
    assert len(ids) == 40 and set(Counter(ids).values()) == {1}
    assert {r.status for r in db.session.scalars(select(OutboxMessage))} == {"sent"}


def test_header_injection_in_name_or_subject_sends_to_no_one_extra(make, now, smtp):
    meeting = past_meeting(make.group(), now)
    meeting.title = "Meetup\r\nBcc: victim@example.com"
    db.session.commit()
    me = attend(meeting, name="Eve\r\nBcc: victim@example.com\r\nX-Evil: 1")
    other = attend(meeting, name="Otto\r\nCc: victim2@example.com", share_contact=True)
    meet(meeting, me, other)
    with atomic():
        followup_mail.queue_followups(meeting, now)
    deliver(now)

    assert len(smtp.sink.received) == 2
    for rcpts, msg in smtp.sink.received:
        assert rcpts in ([me.email], [other.email])
        assert msg["Bcc"] is None and msg["Cc"] is None and msg["X-Evil"] is None
    every_rcpt = [r for rcpts, _ in smtp.sink.received for r in rcpts]
    assert "victim@example.com" not in every_rcpt and "victim2@example.com" not in every_rcpt


def test_attached_vcard_parses_and_holds_the_right_people(make, now, smtp):
    meeting, people, met = crowd(make, now)
    with atomic():
        followup_mail.queue_followups(meeting, now)
    deliver(now)

    for rcpts, msg in smtp.sink.received:
        owner = next(p for p in people if p.email == rcpts[0])
        expected = {o.name for o in met[owner.id] if o.share_contact}
        attachments = list(msg.iter_attachments())
        if not expected:
            assert attachments == []
            continue
        (att,) = attachments
        assert att.get_filename() == "contacts.vcf" and att.get_content_type() == "text/vcard"
        cards = list(vobject.readComponents(att.get_content()))
        assert {c.fn.value for c in cards} == expected
        assert {c.email.value for c in cards} == {o.email for o in met[owner.id] if o.share_contact}


def test_followups_command_queues_and_worker_delivers(make, now, smtp, runner):
    meeting, people, _ = crowd(make, now, n=4)
    early = past_meeting(meeting.group, now, ago=timedelta(hours=2, minutes=30))  # in its delay
    attend(early)

    result = runner.invoke(args=["followups"])
    assert result.exit_code == 0, result.output
    assert "follow-up emails queued 4" in result.output
    again = runner.invoke(args=["followups"])
    assert "follow-up emails queued 0" in again.output

    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent 4, retrying 0, failed 0" in result.output
    assert len(smtp.sink.received) == 4


def test_outbox_command_shows_a_summary_with_failures(make, now, smtp, runner):
    meeting, people, _ = crowd(make, now, n=3)
    with atomic():
        followup_mail.queue_followups(meeting, now)
    smtp.sink.refuse_next = 1
    result = runner.invoke(args=["outbox"])
    assert result.exit_code == 0, result.output
    assert "sent 2, retrying 1, failed 0" in result.output


def test_worker_stops_cleanly_on_sigterm(make, now, smtp, runner):
    meeting, people, _ = crowd(make, now, n=3)
    with atomic():
        followup_mail.queue_followups(meeting, now)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        result = runner.invoke(args=["worker", "--interval", "30"])
    finally:
        timer.cancel()
    assert result.exit_code == 0, result.output
    assert "round 1: sent 3" in result.output
    assert result.output.rstrip().endswith("worker stopped")
    assert signal.getsignal(signal.SIGTERM) is not None
