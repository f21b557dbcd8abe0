from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from ...models import Connection
from ...models.limits import max_length

MAX_NOTE = max_length(Connection.note_a)  # each side's note: the same limit
# Not a column: the organiser's typed table is parsed into connections, never stored whole.
MAX_ROUNDS_TEXT = 200_000


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


class RoundsForm(FlaskForm):
    file = FileField(
        "CSV file (round,table,name or email)",
        validators=[Optional(), FileAllowed(["csv", "txt"], "Upload a .csv file.")],
    )
    rows = TextAreaField(
        "Or type the tables, one person per line",
        validators=[Optional(), Length(max=MAX_ROUNDS_TEXT)],
        render_kw={"rows": 8, "placeholder": "1,A,Ada Lovelace\n1,A,grace@example.com\n1,B,…"},
    )
    submit = SubmitField("Record the rounds")
