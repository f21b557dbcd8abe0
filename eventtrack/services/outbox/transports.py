"""Where built messages go: an SMTP server, or .eml files when no server is configured.

A transport is a context manager with ``send(data, recipient)``; it raises
``TemporaryFailure`` (retry later), ``ConnectionFailure`` (no server at all: stop this run) or
``PermanentFailure`` (refused for good).
"""

import contextlib
import os
import re
import smtplib
from email.utils import parseaddr
from pathlib import Path

from .mime import message_id_of


class PermanentFailure(Exception):
    """The server refused this message for good (5xx): retrying cannot help."""


class TemporaryFailure(Exception):
    """The server or the network failed for now (4xx, connection refused): retry later."""


class ConnectionFailure(TemporaryFailure):
    """No connection at all: the rest of the batch is released untried."""


class FileTransport:
    """Writes each message as an .eml file, for machines with no mail server configured."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def __enter__(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc):
        return False

    def send(self, data: bytes, recipient: str) -> None:
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", message_id_of(data).strip("<>")) or "message"
        path = self.directory / f"{stem}.eml"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: a reader never sees half a message
        except OSError as exc:
            raise TemporaryFailure(f"cannot write {path}: {exc}") from exc


class SmtpTransport:
    """One SMTP connection per batch; failures classified as temporary or permanent."""

    def __init__(
        self, host, port=25, username="", password="", use_tls=False, timeout=15, sender=""
    ):
        self.host, self.port, self.timeout = host, int(port), timeout
        # The envelope sender (bounces); MAIL_FROM's address unless given.
        self.envelope_from = parseaddr(sender)[1] if sender else ""
        self.username, self.password, self.use_tls = username, password, use_tls
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
            self.smtp = None
        return False

    def _connect(self) -> smtplib.SMTP:
        if self.smtp is None:
            try:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.use_tls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
            except smtplib.SMTPAuthenticationError as exc:
                raise ConnectionFailure(f"SMTP login refused: {exc.smtp_code}") from exc
            except (OSError, smtplib.SMTPException) as exc:
                raise ConnectionFailure(
                    f"cannot connect to {self.host}:{self.port}: {exc}"
                ) from exc
            self.smtp = smtp
        return self.smtp

    def send(self, data: bytes, recipient: str) -> None:
        smtp = self._connect()
        try:
            # The envelope names the one recipient: no header can add another.
            options = [] if recipient.isascii() else ["SMTPUTF8"]
            smtp.sendmail(self.envelope_from, [recipient], data, options)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise (TemporaryFailure if 400 <= code < 500 else PermanentFailure)(
                f"{code} {_text(text)}"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code < 500:
                # 421 and friends: the server is going away; start afresh next time.
                self._drop()
                raise TemporaryFailure(f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
            raise PermanentFailure(f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            raise TemporaryFailure(str(exc) or type(exc).__name__) from exc
        except (smtplib.SMTPException, UnicodeError) as exc:
            raise PermanentFailure(str(exc) or type(exc).__name__) from exc

    def _drop(self):
        if self.smtp is not None:
            with contextlib.suppress(OSError):
                self.smtp.close()
            self.smtp = None


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def transport_from_config(config) -> FileTransport | SmtpTransport:
    """SMTP when ``MAIL_SERVER`` is set, else .eml files under ``MAIL_OUTBOX_DIR``."""
    if config.get("MAIL_SERVER"):
        return SmtpTransport(
            config["MAIL_SERVER"],
            config.get("MAIL_PORT", 25),
            config.get("MAIL_USERNAME", ""),
            config.get("MAIL_PASSWORD", ""),
            str(config.get("MAIL_USE_TLS", "")).lower() in ("1", "true", "yes"),
            sender=config.get("MAIL_FROM", ""),
        )
    return FileTransport(config["MAIL_OUTBOX_DIR"])
