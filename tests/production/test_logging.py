"""Logs: with LOG_JSON one JSON object per line (fields, request, exception as one string);
the mail worker logs one line per batch it claimed; plain readable lines otherwise."""

import json
import logging

import pytest

from eventtrack import create_app, worker
from eventtrack.logs import init_logging
from eventtrack.models import utcnow
from eventtrack.services import accounts, outbox
from eventtrack.transaction import atomic

FIELDS = {"time", "level", "logger", "message"}


@pytest.fixture
def restore_logging():
    """Put the root and package loggers back as they were: init_logging changes them for the
    process, and the next test's app must start from what the test runner set up."""
    root, package = logging.getLogger(), logging.getLogger("eventtrack")
    saved = [(logger, list(logger.handlers), logger.level) for logger in (root, package)]
    yield
    for logger, handlers, level in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)


@pytest.fixture
def json_logs(app, restore_logging):
    """The test's app logging JSON lines, as with EVENTTRACK_LOG_JSON=1."""
    app.config["LOG_JSON"] = True
    init_logging(app)
    return app


def json_lines(text: str) -> list[dict]:
    """Every line of ``text`` as JSON (fails on a line that is not)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def batch_lines(text: str) -> list[dict]:
    return [line for line in json_lines(text) if line["logger"] == "eventtrack.worker"]


def queue_sign_in_mails(make, count: int) -> list[str]:
    users = [make.user() for _ in range(count)]
    with atomic():
        for user in users:
            accounts.request_login_link(user.email, utcnow())
    return [user.email for user in users]


def test_a_json_line_holds_time_level_logger_message_and_extra_fields(json_logs, capsys):
    logging.getLogger("eventtrack.somewhere").warning(
        "meeting %s is full", 7, extra={"meeting_id": 7, "at": utcnow()}
    )
    [line] = json_lines(capsys.readouterr().err)
    assert line.keys() >= FIELDS
    assert line["level"] == "WARNING" and line["logger"] == "eventtrack.somewhere"
    assert line["message"] == "meeting 7 is full" and line["meeting_id"] == 7
    assert line["time"].endswith("+00:00") and isinstance(line["at"], str)
    assert "method" not in line  # no request here


def test_a_line_inside_a_request_says_which_and_from_where(json_logs, capsys):
    with json_logs.test_request_context("/readyz", environ_base={"REMOTE_ADDR": "192.0.2.7"}):
        logging.getLogger("eventtrack.web").info("hello")
    [line] = json_lines(capsys.readouterr().err)
    assert (line["method"], line["path"], line["remote_addr"]) == ("GET", "/readyz", "192.0.2.7")


def test_an_unhandled_exception_is_one_json_line_with_its_traceback(json_logs, capsys):
    json_logs.config["PROPAGATE_EXCEPTIONS"] = False  # answer 500, as in production

    @json_logs.get("/test-boom")
    def boom():
        return str(1 / 0)

    response = json_logs.test_client().get("/test-boom")
    assert response.status_code == 500
    lines = json_lines(capsys.readouterr().err)
    [error] = [line for line in lines if line["level"] == "ERROR"]
    assert error["logger"] == "eventtrack" and "/test-boom" in error["message"]
    assert "Traceback" in error["exc_info"] and "ZeroDivisionError" in error["exc_info"]
    assert error["path"] == "/test-boom"


def test_a_worker_batch_logs_exactly_one_line_with_its_counts(json_logs, make, tmp_path, capsys):
    queue_sign_in_mails(make, 3)
    capsys.readouterr()
    summary = worker.deliver_pending(outbox.FileTransport(tmp_path), utcnow(), limit=100)
    assert summary.sent == 3
    [line] = batch_lines(capsys.readouterr().err)
    assert line["message"].startswith("outbox batch: claimed 3, sent 3")
    assert (line["claimed"], line["sent"], line["retrying"], line["failed"]) == (3, 3, 0, 0)
    assert line["released"] == 0 and 0 <= line["seconds"] < 30 and line["worker"]
    assert "errors" not in line


def test_each_claimed_batch_has_its_own_line_and_an_idle_run_none(
    json_logs, make, tmp_path, capsys
):
    queue_sign_in_mails(make, 5)
    capsys.readouterr()
    worker.deliver_pending(outbox.FileTransport(tmp_path), utcnow(), limit=100, batch_size=2)
    lines = batch_lines(capsys.readouterr().err)
    assert [line["claimed"] for line in lines] == [2, 2, 1]
    assert sum(line["sent"] for line in lines) == 5
    worker.deliver_pending(outbox.FileTransport(tmp_path), utcnow(), limit=100)
    assert batch_lines(capsys.readouterr().err) == []


class RefusesOne:
    """Writes .eml files, except for one recipient: a temporary failure (4xx)."""

    def __init__(self, directory, refused):
        self.files, self.refused = outbox.FileTransport(directory), refused

    def __enter__(self):
        self.files.__enter__()
        return self

    def __exit__(self, *exc):
        return self.files.__exit__(*exc)

    def send(self, data, recipient):
        if recipient == self.refused:
            raise outbox.TemporaryFailure("451 4.3.0 try again later")
        self.files.send(data, recipient)


def test_a_batch_line_counts_retries_and_names_their_errors(json_logs, make, tmp_path, capsys):
    emails = queue_sign_in_mails(make, 3)
    capsys.readouterr()
    worker.deliver_pending(RefusesOne(tmp_path, emails[1]), utcnow(), limit=100)
    [line] = batch_lines(capsys.readouterr().err)
    assert (line["claimed"], line["sent"], line["retrying"], line["failed"]) == (3, 2, 1, 0)
    assert line["errors"] == [f"{emails[1]}: 451 4.3.0 try again later"]


def test_the_worker_command_writes_only_json_lines(json_logs, make, runner, tmp_path):
    json_logs.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "mail")
    queue_sign_in_mails(make, 2)
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    lines = json_lines(result.output)  # stdout and stderr: nothing but JSON
    [batch] = [line for line in lines if line["logger"] == "eventtrack.worker"]
    assert batch["sent"] == 2
    assert lines[-1]["message"] == "worker stopped"


def test_without_log_json_the_worker_says_its_round_plainly(app, make, runner, tmp_path, caplog):
    app.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "mail")
    queue_sign_in_mails(make, 2)
    with caplog.at_level(logging.INFO, logger="eventtrack.worker"):
        result = runner.invoke(args=["worker", "--once"])
    assert "round 1: sent 2, retrying 0, failed 0" in result.output
    [record] = [r for r in caplog.records if r.name == "eventtrack.worker"]
    assert record.getMessage().startswith("outbox batch: claimed 2, sent 2, retrying 0, failed 0")
    assert record.sent == 2  # the fields are there for any handler


def test_plain_lines_when_nobody_configured_logging(app_config, restore_logging, capsys):
    logging.getLogger().handlers[:] = []  # as under gunicorn or the flask command
    create_app(dict(app_config))
    logging.getLogger("eventtrack.worker").info("outbox batch: claimed 1")
    err = capsys.readouterr().err
    assert err.endswith(" INFO eventtrack.worker: outbox batch: claimed 1\n")
    with pytest.raises(ValueError):
        json.loads(err)


def test_making_apps_again_adds_no_second_handler(app_config, restore_logging, capsys):
    config = dict(app_config, LOG_JSON=True)
    for _ in range(3):
        create_app(dict(config))
    logging.getLogger("eventtrack").info("once")
    assert len(capsys.readouterr().err.splitlines()) == 1
