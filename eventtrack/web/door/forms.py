from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length, Optional

from ...models import User
from ...models.limits import max_length

# Not a column: a scanner may send the whole pass URL, not just the token.
MAX_SCANNED = 2000


class PassCheckinForm(FlaskForm):
    """The one-tap check-in on a pass page an organiser opened."""

    token = HiddenField(validators=[DataRequired(), Length(max=MAX_SCANNED)])
    submit = SubmitField("Check in")


class WalkInForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=max_length(User.name))])
    email = EmailField(
        "Email", validators=[DataRequired(), Email(), Length(max=max_length(User.email))]
    )
    company = StringField("Company", validators=[Optional(), Length(max=max_length(User.company))])
    submit = SubmitField("Add walk-in and check in")


class SelfCheckinForm(FlaskForm):
    ticket = HiddenField(validators=[DataRequired()])
    name = StringField(
        "Your name",
        validators=[DataRequired(), Length(max=max_length(User.name))],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        "Your email",
        validators=[DataRequired(), Email(), Length(max=max_length(User.email))],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
    submit = SubmitField("Check me in")
