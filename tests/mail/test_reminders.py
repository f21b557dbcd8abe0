"""A meeting reminder end to end: a worker round queues it and delivers it over real SMTP."""

from datetime import UTC, datetime, timedelta

from eventtrack import cli_followups


def test_a_worker_round_delivers_the_reminder_once(make, smtp):
    now = datetime.now(UTC)
    group = make.group()
    meeting = make.meeting(group, title="Pricing night", starts_in=timedelta(hours=10), now=now)
    ann = make.member(group, name="Ann")
    reg = make.registration(meeting, ann, created_at=now - timedelta(days=2))

    summary = cli_followups.run_once(limit=50)

    assert summary.sent == 1, summary.errors
    [(rcpts, msg)] = smtp.sink.received
    assert rcpts == [ann.email]
    assert msg["Subject"].startswith("Reminder: Pricing night")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = msg.get_body(("plain",)).get_content()
    assert f"/p/{reg.pass_token}" in text and f"/p/{reg.pass_token}/calendar.ics" in text
    assert meeting.local(meeting.starts_at).strftime("%H:%M") in text
    assert "Europe/Berlin" in text

    cli_followups.run_once(limit=50)  # the next round: nothing new
    assert len(smtp.sink.received) == 1
