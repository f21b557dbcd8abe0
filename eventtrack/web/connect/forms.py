from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from ...services.connections import MAX_NOTE


class WeMetForm(FlaskForm):
    note = TextAreaField(
        "Private note (optional)",
        validators=[Optional(), Length(max=MAX_NOTE)],
        description="Only you will ever see this note.",
        render_kw={"rows": 2, "placeholder": "talked about her mentoring circle; send the article"},
    )
    submit = SubmitField("We met")


class NoteForm(FlaskForm):
    note = TextAreaField(
        "My private note",
        validators=[Optional(), Length(max=MAX_NOTE)],
        render_kw={"rows": 2},
    )
    submit = SubmitField("Save note")


class ActionForm(FlaskForm):
    """A button: only the CSRF token travels."""

    submit = SubmitField("OK")


class RoundsForm(FlaskForm):
    file = FileField(
        "CSV file (round,table,name or email)",
        validators=[Optional(), FileAllowed(["csv", "txt"], "Upload a .csv file.")],
    )
    rows = TextAreaField(
        "Or type the tables, one person per line",
        validators=[Optional(), Length(max=200_000)],
        render_kw={"rows": 8, "placeholder": "1,A,Ada Lovelace\n1,A,grace@example.com\n1,B,…"},
    )
    submit = SubmitField("Record the rounds")
