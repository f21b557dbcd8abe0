from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from ...models.followup import FollowUp, Goal
from ...models.limits import max_length
from ...models.vocabularies import FollowUpState, GoalOutcome


class StateForm(FlaskForm):
    """Done / back to do / snooze until a date: one small form per person."""

    state = HiddenField(validators=[DataRequired(), AnyOf(list(FollowUpState))])
    snoozed_until = DateField("Snooze until", validators=[Optional()])
    submit = SubmitField("Save")


class PromiseForm(FlaskForm):
    promise = StringField(
        "I promised",
        validators=[Optional(), Length(max=max_length(FollowUp.promise))],
        render_kw={"placeholder": "intro her to Sam"},
    )
    promise_due = DateField("By", validators=[Optional()])
    submit = SubmitField("Save promise")


class GoalForm(FlaskForm):
    text = StringField(
        "My goal for the next weeks",
        validators=[DataRequired(), Length(max=max_length(Goal.text))],
        render_kw={"placeholder": "find a co-founder"},
    )
    submit = SubmitField("Save goal")


class GoalAnswerForm(FlaskForm):
    outcome = SelectField(
        "How did it go?",
        choices=[
            SelectChoice(GoalOutcome.DONE, "Done"),
            SelectChoice(GoalOutcome.NOT_YET, "Not yet"),
            SelectChoice(GoalOutcome.DROPPED, "Dropped it"),
        ],
    )
    submit = SubmitField("Answer")


class QueueForm(FlaskForm):
    submit = SubmitField("Queue follow-up emails now")
