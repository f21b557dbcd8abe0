"""Command line for follow-ups: ``flask --app eventtrack followups`` and ``… worker``."""

import logging
import signal
import threading
from datetime import datetime

import click
from flask import current_app

from . import worker as worker_loop
from .extensions import db
from .models import Meeting, utcnow
from .services import engagement, followup_mail, outbox
from .services.errors import DomainError
from .transaction import atomic

log = logging.getLogger(__name__)


def _tell(message: str, err: bool = False) -> None:
    """Say it on the terminal, or as a log line when logs are JSON (``LOG_JSON``): a worker
    under systemd then writes nothing but JSON lines."""
    if current_app.config.get("LOG_JSON"):
        log.log(logging.WARNING if err else logging.INFO, message)
    else:
        click.echo(message, err=err)


@click.command("followups")
def queue_followups_command():
    """Queue follow-up emails of meetings that are due, and weekly reminders."""
    now = utcnow()
    due = followup_mail.due_meetings(now)
    queued = failed = 0
    with click.progressbar(due, label="Queuing follow-ups", show_pos=True) as meetings:
        for meeting in meetings:
            try:
                queued += _queue_followups_of(meeting, now)
            except DomainError as exc:
                failed += 1
                click.echo(f"  meeting {meeting.id}: {exc.message}", err=True)
    with atomic():
        reminders = followup_mail.queue_reminders(now)
    click.echo(
        f"meetings {len(due)}, follow-up emails queued {queued}, reminders queued {reminders}"
        + (f", meetings skipped {failed}" if failed else "")
    )


def _queue_followups_of(meeting: Meeting, now: datetime) -> int:
    """One meeting's follow-ups in a transaction of their own: a meeting that fails leaves
    the others queued."""
    with atomic():
        return followup_mail.queue_followups(meeting, now)


def run_once(limit: int, stop: threading.Event | None = None) -> outbox.DeliverySummary:
    """One worker round: queue what is due, then deliver the outbox."""
    now = utcnow()
    for meeting in followup_mail.due_meetings(now):
        try:
            _queue_followups_of(meeting, now)
        except DomainError as exc:
            _tell(f"meeting {meeting.id}: {exc.message}", err=True)
    with atomic():
        followup_mail.queue_reminders(now)
    with atomic():  # check-ins since the last round: searchable by the member's own name
        engagement.record_check_ins(now)
    worker_loop.queue_due_reminders(now)  # reminders before a meeting (services.reminders)
    transport = outbox.transport_from_config(current_app.config)
    return worker_loop.deliver_pending(transport, utcnow(), limit, stop=stop)


@click.command("worker")
@click.option("--once", is_flag=True, help="One round, then exit.")
@click.option("--interval", default=30.0, show_default=True, help="Seconds between rounds.")
@click.option("--limit", default=500, show_default=True, help="At most this many mails a round.")
def worker(once, interval, limit):
    """Queue due follow-ups and reminders and deliver mail, every --interval seconds.

    SIGTERM or SIGINT finishes the current message, then stops: nothing is left half-sent.
    """
    stop = threading.Event()
    json_logs = bool(current_app.config.get("LOG_JSON"))

    def request_stop(signum, _frame):
        _tell(f"signal {signum}: stopping after the message in flight", err=True)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, request_stop)
    rounds = 0
    try:
        while not stop.is_set():
            summary = run_once(limit, stop)
            rounds += 1
            # With LOG_JSON each batch's log line (eventtrack.worker) says all this.
            if not json_logs:
                if summary.handled or summary.errors or once:
                    # An idle round says nothing: `make run` polls every 2 s beside the web app.
                    click.echo(
                        f"round {rounds}: sent {summary.sent}, retrying {summary.retrying}, "
                        f"failed {summary.failed}"
                    )
                for error in summary.errors[:20]:
                    click.echo(f"  {error}", err=True)
            if once:
                break
            # A full round means more may be waiting: go again at once.
            if summary.handled < limit:
                stop.wait(interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        db.session.remove()
    _tell("worker stopped")


COMMANDS = (queue_followups_command, worker)


def register(app) -> None:
    """Add these commands to ``app.cli`` (called from ``cli.init_cli``)."""
    for command in COMMANDS:
        app.cli.add_command(command)
