from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from ...services.meetings import MAX_OCCURRENCES, RECURRENCES


class GroupForm(FlaskForm):
    name = StringField("Group name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField("What the group is about", validators=[Length(max=4000)])
    timezone = SelectField("Timezone of its meetings", default="Europe/London")
    submit = SubmitField("Create group")


class MemberForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email()])
    company = StringField("Company", validators=[Optional(), Length(max=120)])
    submit = SubmitField("Add member")


class ImportForm(FlaskForm):
    file = FileField(
        "CSV file (name,email[,company])",
        validators=[FileRequired(), FileAllowed(["csv", "txt"], "Upload a .csv file.")],
    )
    submit = SubmitField("Import members")


class MeetingForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=160)])
    description = TextAreaField("Description", validators=[Length(max=8000)])
    venue = StringField("Venue", validators=[Optional(), Length(max=200)])
    date = DateField("Date", validators=[DataRequired()])
    start_time = TimeField("Starts", validators=[DataRequired()])
    end_time = TimeField("Ends", validators=[DataRequired()])
    timezone = SelectField("Timezone")
    capacity = IntegerField(
        "Capacity (empty: no limit)", validators=[Optional(), NumberRange(min=1, max=100000)]
    )
    checkin_opens_minutes = IntegerField(
        "Check-in opens (minutes before start)",
        default=60,
        validators=[NumberRange(min=0, max=1440)],
    )
    checkin_closes_minutes = IntegerField(
        "Check-in closes (minutes after end)",
        default=0,
        validators=[NumberRange(min=0, max=1440)],
    )
    followup_delay_minutes = IntegerField(
        "Follow-up emails (minutes after end)",
        default=120,
        validators=[NumberRange(min=0, max=20160)],
    )
    recurrence = SelectField(
        "Repeats",
        choices=[SelectChoice(value, label) for value, label in RECURRENCES.items()],
        default="none",
    )
    count = IntegerField(
        "How many meetings in the series",
        default=6,
        validators=[Optional(), NumberRange(min=2, max=MAX_OCCURRENCES)],
    )
    submit = SubmitField("Save meeting")


class RegisterMembersForm(FlaskForm):
    user_ids = SelectMultipleField("Members", coerce=int, validators=[DataRequired()])
    submit = SubmitField("Register selected")


class ActionForm(FlaskForm):
    """A button: only the CSRF token travels."""

    submit = SubmitField("OK")
