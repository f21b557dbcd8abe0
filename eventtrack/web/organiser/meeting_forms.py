"""Organiser forms: meetings and registering members for them."""

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ...models import Meeting
from ...models.limits import max_length
from ...services.meetings import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_CAPACITY,
    MAX_OCCURRENCES,
    RECURRENCES,
)


def meeting_year(form, field) -> None:
    # Checked before the service does: the view adds a day to an evening past midnight.
    if field.data and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(f"Pick a date between {FIRST_YEAR} and {LAST_YEAR}.")


class MeetingForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=max_length(Meeting.title))])
    description = TextAreaField(
        "Description", validators=[Length(max=max_length(Meeting.description))]
    )
    venue = StringField("Venue", validators=[Optional(), Length(max=max_length(Meeting.venue))])
    date = DateField("Date", validators=[DataRequired(), meeting_year])
    start_time = TimeField("Starts", validators=[DataRequired()])
    end_time = TimeField("Ends", validators=[DataRequired()])
    timezone = SelectField("Timezone")
    capacity = IntegerField(
        "Capacity (empty: no limit)", validators=[Optional(), NumberRange(min=1, max=MAX_CAPACITY)]
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
