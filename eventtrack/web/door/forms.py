from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length, Optional


class ActionForm(FlaskForm):
    """Just the CSRF token: check-in and undo buttons."""


class PassCheckinForm(FlaskForm):
    """The one-tap check-in on a pass page an organiser opened."""

    token = HiddenField(validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField("Check in")


class WalkInForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    company = StringField("Company", validators=[Optional(), Length(max=120)])
    submit = SubmitField("Add walk-in and check in")


class SelfCheckinForm(FlaskForm):
    ticket = HiddenField(validators=[DataRequired()])
    name = StringField(
        "Your name",
        validators=[DataRequired(), Length(max=120)],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        "Your email",
        validators=[DataRequired(), Email(), Length(max=254)],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
    submit = SubmitField("Check me in")
