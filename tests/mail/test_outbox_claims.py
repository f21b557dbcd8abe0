"""A delivery run that outlasts the stale-claim limit (a slow relay) keeps its claims: a second
worker starting meanwhile sends nothing twice (Message-IDs compared at a real SMTP sink)."""

import threading
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from eventtrack import worker
from eventtrack.extensions import db
from eventtrack.models import OutboxMessage, utcnow
from eventtrack.models.vocabularies import MailStatus
from eventtrack.services import accounts, outbox
from eventtrack.services.outbox import delivery
from eventtrack.transaction import atomic


class SlowRelay:
    """The app's SMTP transport, taking ``seconds`` for every message."""

    def __init__(self, transport, seconds):
        self.transport, self.seconds = transport, seconds

    def __enter__(self):
        self.transport.__enter__()
        return self

    def __exit__(self, *exc):
        return self.transport.__exit__(*exc)

    def send(self, data, recipient):
        time.sleep(self.seconds)
        self.transport.send(data, recipient)


def test_a_run_longer_than_the_stale_limit_is_not_sent_again_by_another_worker(
    app, make, smtp, monkeypatch
):
    monkeypatch.setattr(delivery, "STALE_CLAIM", timedelta(seconds=1))
    users = [make.user() for _ in range(6)]
    with atomic():
        for user in users:
            accounts.request_login_link(user.email, utcnow())
    errors, started = [], threading.Event()

    def slow_worker():  # batches of 2 at 0.5 s a message: claims at about 0 s, 1 s, 2 s
        try:
            with app.app_context():
                transport = SlowRelay(outbox.transport_from_config(app.config), 0.5)
                started.set()
                worker.deliver_pending(transport, utcnow(), limit=6, batch_size=2)
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(exc)

    def second_worker():  # starts while the slow one sends its second batch
        try:
            started.wait(10)
            time.sleep(1.6)
            with app.app_context():
                transport = outbox.transport_from_config(app.config)
                while worker.deliver_pending(transport, utcnow(), limit=6, batch_size=2).handled:
                    pass
                db.session.remove()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=slow_worker), threading.Thread(target=second_worker)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    ids = smtp.sink.message_ids()
    assert len(ids) == 6 and set(Counter(ids).values()) == {1}
    db.session.expire_all()
    assert {m.status for m in db.session.scalars(select(OutboxMessage))} == {MailStatus.SENT}
