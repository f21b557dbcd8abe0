"""Organiser forms: groups and members (meetings: ``meeting_forms``)."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import EmailField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from ...models import Group, Membership, User
from ...models.limits import max_length


class GroupForm(FlaskForm):
    name = StringField(
        "Group name", validators=[DataRequired(), Length(max=max_length(Group.name))]
    )
    description = TextAreaField(
        "What the group is about", validators=[Length(max=max_length(Group.description))]
    )
    timezone = SelectField("Timezone of its meetings", default="Europe/London")
    submit = SubmitField("Create group")


class GroupEditForm(GroupForm):
    submit = SubmitField("Save group")


class MemberForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=max_length(User.name))])
    email = EmailField(
        "Email", validators=[DataRequired(), Email(), Length(max=max_length(User.email))]
    )
    company = StringField("Company", validators=[Optional(), Length(max=max_length(User.company))])
    submit = SubmitField("Add member")


class MemberEditForm(FlaskForm):
    """The name and company the organiser typed; the account's own profile is the member's."""

    name = StringField(
        "Name", validators=[DataRequired(), Length(max=max_length(Membership.typed_name))]
    )
    company = StringField(
        "Company", validators=[Optional(), Length(max=max_length(Membership.typed_company))]
    )
    submit = SubmitField("Save")


class ImportForm(FlaskForm):
    file = FileField(
        "CSV file (name,email[,company])",
        validators=[FileRequired(), FileAllowed(["csv", "txt"], "Upload a .csv file.")],
    )
    submit = SubmitField("Import members")
