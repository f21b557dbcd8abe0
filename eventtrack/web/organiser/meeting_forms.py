"""Organiser forms: meetings, registering members for them, messaging their attendees."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ...models import Meeting
from ...models.limits import max_length
from ...services.meetings import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_CAPACITY,
    MAX_OCCURRENCES,
    RECURRENCES,
    REMINDERS,
)
from ...services.messages import AUDIENCES, BODY_MAX, SUBJECT_MAX


def meeting_year(form, field) -> None:
    # Checked before the service does: the view adds a day to an evening past midnight.
    if field.data and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(f"Pick a date between {FIRST_YEAR} and {LAST_YEAR}.")


def reminder_value(value) -> int | None:
    """The reminder select's value: minutes, or None for "no reminder" ("off")."""
    if value in (None, "", "off", "None"):
        return None
    return int(value)


class MeetingForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=max_length(Meeting.title))])
    description = TextAreaField(
        "Description", validators=[Length(max=max_length(Meeting.description))]
    )
    venue = StringField("Venue", validators=[Optional(), Length(max=max_length(Meeting.venue))])
    date = DateField("Date", validators=[DataRequired(), meeting_year])
    start_time = TimeField("Starts", validators=[DataRequired()])
    end_time = TimeField("Ends", validators=[DataRequired()])
    ends_next_day = BooleanField("Ends the next day (runs past midnight)")
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
    reminder_minutes = SelectField(
        "Reminder email to those going",
        choices=[
            SelectChoice("off" if v is None else str(v), label) for v, label in REMINDERS.items()
        ],
        coerce=reminder_value,
        default=1440,
    )
    save_duplicate = BooleanField("Save anyway: a second meeting at the same time")
    offer_duplicate = False  # set by the view when the service found a meeting at that start
    submit = SubmitField("Save meeting")

    def validate_end_time(self, field) -> None:
        """An end before the start is a question, not a guess: tick "ends the next day" or fix
        the time. (It used to become a 23-hour meeting without a word.)"""
        start = self.start_time.data
        if start is None or field.data is None:
            return
        if self.ends_next_day.data:
            if field.data > start:
                raise ValidationError(
                    "With \u201cends the next day\u201d the end must be earlier than the start "
                    "(a meeting of up to 24 hours)."
                )
        elif field.data == start:
            raise ValidationError("The meeting must end after it starts.")
        elif field.data < start:
            raise ValidationError(
                "This ends before it starts. If it runs past midnight, tick "
                "\u201cends the next day\u201d; otherwise fix the time."
            )


class RegisterMembersForm(FlaskForm):
    """The ticked members of the searched list (checkboxes: they work on a phone)."""

    user_ids = SelectMultipleField(
        "Members",
        coerce=int,
        validators=[DataRequired("Tick at least one member to register.")],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    submit = SubmitField("Register the ticked members")


class MessageForm(FlaskForm):
    """An organisers' message to members: a subject and a body (``services.messages``)."""

    subject = StringField("Subject", validators=[DataRequired(), Length(max=SUBJECT_MAX)])
    body = TextAreaField("Message", validators=[DataRequired(), Length(max=BODY_MAX)])
    submit = SubmitField("Send the message")


class MessageAttendeesForm(MessageForm):
    """The organiser's message to a meeting's attendees."""

    audience = RadioField(
        "Who gets it",
        choices=[SelectChoice(value, label) for value, label in AUDIENCES.items()],
        default="registered",
        validators=[DataRequired()],
    )
