"""Command line: ``flask --app eventtrack <command>``."""

import time

import click
from flask import Flask, current_app
from sqlalchemy.exc import DBAPIError

from . import worker
from .cli_followups import register as register_followup_commands
from .cli_transfer import register as register_transfer_commands
from .extensions import db
from .models import utcnow
from .services import accounts, outbox
from .services.demo import DEMO_ORGANISER, load_demo
from .services.errors import DomainError
from .transaction import atomic


def init_cli(app: Flask) -> None:
    for command in (demo, create_organiser, api_token, deliver_outbox, queue_reminders):
        app.cli.add_command(command)
    register_followup_commands(app)
    register_transfer_commands(app)


@click.command("demo")
def demo():
    """Load demo data into an empty database."""
    with atomic():
        organiser = load_demo(utcnow())
    if organiser is None:
        click.echo("The database already has users: demo data not loaded.")
        return
    email, _, password = DEMO_ORGANISER
    click.echo(f"Demo data loaded. Sign in as {email} with password {password}.")


@click.command("create-organiser")
@click.argument("email")
@click.option("--name", prompt="Name")
@click.password_option(help="At least 10 characters.")
def create_organiser(email, name, password):
    """Create an organiser account (or give an existing member a password)."""
    try:
        with atomic():
            user = accounts.register_organiser(email, name, password, existing=True)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Organiser {user.email} ready. Sign in at {current_app.config['BASE_URL']}/login")


@click.command("api-token")
@click.argument("email")
def api_token(email):
    """Print a new API token for EMAIL (shown once; only its hash is stored)."""
    with atomic():
        user = accounts.user_by_email(email)
        if user is None:
            raise click.ClickException(f"No user with email {email}.")
        token = accounts.new_api_token(user, utcnow())
    click.echo(token)  # only once it is saved


@click.command("outbox")
@click.option("--limit", default=500, show_default=True, help="At most this many messages.")
@click.option("--loop", is_flag=True, help="Keep delivering every --interval seconds.")
@click.option("--interval", default=10.0, show_default=True)
@click.option(
    "--status", is_flag=True, help="Print how many are pending, retrying, failed; send nothing."
)
def deliver_outbox(limit, loop, interval, status):
    """Deliver pending mail (SMTP, or .eml files under instance/mail without MAIL_SERVER)."""
    if status:
        try:
            counts = outbox.status_counts()
        except DBAPIError as exc:  # a monitoring script gets one clear line and exit status 1
            first = str(exc.orig).strip().splitlines()[0]
            raise click.ClickException(
                f"cannot read the outbox ({first}): is the database reachable and migrated "
                "(flask --app eventtrack db upgrade)?"
            ) from exc
        db.session.rollback()
        click.echo("  ".join(f"{name} {count}" for name, count in counts.items()))
        return
    while True:
        transport = outbox.transport_from_config(current_app.config)
        pending = outbox.due_count(utcnow())
        with click.progressbar(length=min(pending, limit), label="Delivering mail") as bar:
            # The worker's loop: it commits after each message (see eventtrack.worker).
            summary = worker.deliver_pending(transport, utcnow(), limit, progress=bar.update)
        click.echo(f"sent {summary.sent}, retrying {summary.retrying}, failed {summary.failed}")
        for error in summary.errors[:20]:
            click.echo(f"  {error}", err=True)
        if not loop:
            break
        time.sleep(interval)


@click.command("reminders")
def queue_reminders():
    """Queue the reminder emails of meetings whose reminder time has come."""
    queued = worker.queue_due_reminders(utcnow())
    click.echo(f"reminders queued {queued}")
