"""Form parts every blueprint shares: the one-button form and the reading of an uploaded file."""

from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage
from wtforms import SubmitField


class ActionForm(FlaskForm):
    """A button: only the CSRF token travels (check-in, undo, remove, resend…)."""

    submit = SubmitField("OK")


def uploaded_text(file: FileStorage) -> str:
    """The text of an uploaded CSV or text file: UTF-8 (with or without the byte-order mark
    spreadsheets write), or else Windows-1252, which Excel uses for "CSV" on Windows and which
    can decode any byte except five unassigned ones (shown as U+FFFD)."""
    raw = file.read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")
