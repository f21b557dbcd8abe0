from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, SubmitField, TelField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ...models import User
from ...models.limits import max_length


class ProfileForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=max_length(User.name))])
    headline = StringField(
        "Headline",
        validators=[Optional(), Length(max=max_length(User.headline))],
        render_kw={"placeholder": "Product designer, fintech"},
    )
    company = StringField("Company", validators=[Optional(), Length(max=max_length(User.company))])
    interests = TextAreaField(
        "Interests",
        validators=[Optional(), Length(max=max_length(User.interests))],
        render_kw={"placeholder": "climate tech, hiring, mentoring", "rows": 2},
    )
    asks = TextAreaField(
        "I'm looking for",
        validators=[Optional(), Length(max=max_length(User.asks))],
        render_kw={"placeholder": "a co-founder, two client leads", "rows": 2},
    )
    offers = TextAreaField(
        "I can help with",
        validators=[Optional(), Length(max=max_length(User.offers))],
        render_kw={"placeholder": "UX reviews, intros to investors", "rows": 2},
    )
    linkedin_url = StringField(
        "LinkedIn URL",
        validators=[Optional(), Length(max=max_length(User.linkedin_url))],
        render_kw={"inputmode": "url", "autocomplete": "url"},
    )
    phone = TelField(
        "Phone",
        validators=[Optional(), Length(max=max_length(User.phone))],
        render_kw={"autocomplete": "tel"},
    )
    share_contact = BooleanField("Share my email and phone with people I met")
    followup_emails = BooleanField("Send me follow-up emails after meetings")
    submit = SubmitField("Save profile")


class RsvpForm(FlaskForm):
    status = HiddenField(validators=[DataRequired()])
    submit = SubmitField("Save")


class UnsubscribeForm(FlaskForm):
    submit = SubmitField("Stop follow-up emails")
