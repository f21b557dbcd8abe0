"""One length limit per text field, read from its column by forms, API schemas and services."""

from datetime import datetime

import pytest
from marshmallow import fields as ma_fields
from marshmallow import validate
from sqlalchemy import BigInteger, Integer, String, func, select
from wtforms import HiddenField, StringField
from wtforms.validators import Length

from eventtrack.extensions import db
from eventtrack.models import Group, Meeting, User
from eventtrack.models.connection import Connection
from eventtrack.models.followup import FollowUp, Goal
from eventtrack.models.limits import max_length
from eventtrack.services import meetings
from eventtrack.services.errors import Invalid, require_fits
from eventtrack.web.api import schemas
from eventtrack.web.attendee import forms as attendee_forms
from eventtrack.web.connect import forms as connect_forms
from eventtrack.web.door import forms as door_forms
from eventtrack.web.followups import forms as followups_forms
from eventtrack.web.hardening import MAX_INTEGER
from eventtrack.web.organiser import forms as organiser_forms
from eventtrack.web.organiser import meeting_forms


def mapped_columns():
    for mapper in db.Model.registry.mappers:
        for prop in mapper.column_attrs:
            yield getattr(mapper.class_, prop.key), prop.columns[0]


def test_every_text_column_has_one_length_limit():
    texts = [attr for attr, column in mapped_columns() if isinstance(column.type, String)]
    assert len(texts) > 40
    for attr in texts:
        assert max_length(attr) > 0, attr


def test_text_columns_name_the_limits_people_are_told():
    assert max_length(User.name) == 120
    assert max_length(Meeting.description) == 8000
    assert max_length(Group.description) == 4000
    assert max_length(User.interests) == max_length(User.asks) == max_length(User.offers) == 1000
    assert max_length(Connection.note_a) == max_length(Connection.note_b) == 2000


def test_every_integer_column_is_integer_so_ids_and_numbers_share_one_bound():
    # hardening.MAX_INTEGER (paths, JSON bodies, API ids) is INTEGER's bound on PostgreSQL.
    for attr, column in mapped_columns():
        if isinstance(column.type, Integer):
            assert not isinstance(column.type, BigInteger), attr
    assert MAX_INTEGER == 2**31 - 1


def _length(unbound_field) -> int | None:
    limits = [v.max for v in unbound_field.kwargs.get("validators", []) if isinstance(v, Length)]
    return limits[0] if limits else None


FORM_FIELDS = [
    (organiser_forms.GroupForm, "name", Group.name),
    (organiser_forms.GroupForm, "description", Group.description),
    (organiser_forms.MemberForm, "name", User.name),
    (organiser_forms.MemberForm, "email", User.email),
    (organiser_forms.MemberForm, "company", User.company),
    (meeting_forms.MeetingForm, "title", Meeting.title),
    (meeting_forms.MeetingForm, "description", Meeting.description),
    (meeting_forms.MeetingForm, "venue", Meeting.venue),
    (attendee_forms.ProfileForm, "name", User.name),
    (attendee_forms.ProfileForm, "headline", User.headline),
    (attendee_forms.ProfileForm, "company", User.company),
    (attendee_forms.ProfileForm, "interests", User.interests),
    (attendee_forms.ProfileForm, "asks", User.asks),
    (attendee_forms.ProfileForm, "offers", User.offers),
    (attendee_forms.ProfileForm, "linkedin_url", User.linkedin_url),
    (attendee_forms.ProfileForm, "phone", User.phone),
    (connect_forms.WeMetForm, "note", Connection.note_a),
    (connect_forms.NoteForm, "note", Connection.note_a),
    (followups_forms.PromiseForm, "promise", FollowUp.promise),
    (followups_forms.GoalForm, "text", Goal.text),
    (door_forms.WalkInForm, "name", User.name),
    (door_forms.WalkInForm, "email", User.email),
    (door_forms.WalkInForm, "company", User.company),
    (door_forms.SelfCheckinForm, "name", User.name),
    (door_forms.SelfCheckinForm, "email", User.email),
]


@pytest.mark.parametrize("form, name, attr", FORM_FIELDS)
def test_form_fields_take_their_limit_from_the_column(form, name, attr):
    assert _length(getattr(form, name)) == max_length(attr)


def test_every_text_field_of_a_form_has_a_length_limit():
    modules = (organiser_forms, attendee_forms, connect_forms, followups_forms, door_forms)
    for module in modules:
        for form in vars(module).values():
            if not (isinstance(form, type) and hasattr(form, "_unbound_fields")):
                continue
            for name in dir(form):
                unbound = getattr(form, name)
                field_class = getattr(unbound, "field_class", None)
                if (
                    field_class
                    and issubclass(field_class, StringField)
                    and not issubclass(field_class, HiddenField)
                ):
                    assert _length(unbound), f"{form.__name__}.{name}"


SCHEMA_FIELDS = [
    (schemas.GroupIn, "name", Group.name),
    (schemas.GroupIn, "description", Group.description),
    (schemas.GroupIn, "timezone", Group.default_timezone),
    (schemas.MemberIn, "name", User.name),
    (schemas.MemberIn, "email", User.email),
    (schemas.MemberIn, "company", User.company),
    (schemas.MeetingIn, "title", Meeting.title),
    (schemas.MeetingIn, "description", Meeting.description),
    (schemas.MeetingIn, "venue", Meeting.venue),
    (schemas.MeetingIn, "timezone", Meeting.timezone),
    (schemas.RegistrationIn, "email", User.email),
]


def _schema_length(field) -> int | None:
    limits = [v.max for v in field.validators if isinstance(v, validate.Length)]
    return limits[0] if limits else None


@pytest.mark.parametrize("schema, name, attr", SCHEMA_FIELDS)
def test_api_fields_take_their_limit_from_the_column(schema, name, attr):
    assert _schema_length(schema().fields[name]) == max_length(attr)


def test_every_string_field_of_an_input_schema_has_a_length_limit():
    for schema in (schemas.GroupIn, schemas.MemberIn, schemas.MeetingIn, schemas.RegistrationIn):
        for name, field in schema().fields.items():
            if isinstance(field, ma_fields.String) and not isinstance(
                field.validate, validate.OneOf
            ):
                assert _schema_length(field), f"{schema.__name__}.{name}"


def test_require_fits_names_the_limit_and_never_cuts():
    assert require_fits("  Ada  ", User.name, "The name") == "Ada"
    with pytest.raises(Invalid, match="at most 120 characters") as caught:
        require_fits("x" * 121, User.name, "The name", "name")
    assert caught.value.field == "name"


def _details(**overrides) -> meetings.MeetingDetails:
    values = {
        "title": "Pricing night",
        "starts_local": datetime(2027, 3, 9, 18, 30),
        "ends_local": datetime(2027, 3, 9, 21, 0),
        "timezone": "Europe/Berlin",
    }
    return meetings.MeetingDetails(**{**values, **overrides})


@pytest.mark.parametrize(
    "field, length, limit",
    [("title", 161, "160"), ("venue", 201, "200"), ("description", 8001, "8,000")],
)
def test_meeting_text_too_long_is_refused_naming_the_limit(make, field, length, limit):
    group = make.group()
    with pytest.raises(Invalid, match=f"at most {limit} characters") as caught:
        meetings.create_meetings(group, _details(**{field: "x" * length}))
    assert caught.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Meeting)) == 0


def test_meeting_text_at_the_limit_is_kept_whole(make):
    group = make.group()
    [meeting] = meetings.create_meetings(
        group, _details(title="t" * 160, venue="v" * 200, description="d" * 8000)
    )
    assert (len(meeting.title), len(meeting.venue), len(meeting.description)) == (160, 200, 8000)


def test_editing_a_meeting_refuses_a_title_too_long(make, now):
    meeting = make.meeting(make.group())
    with pytest.raises(Invalid, match="at most 160"):
        meetings.update_meeting(meeting, _details(title="x" * 161), now)
    db.session.rollback()
    assert db.session.get(Meeting, meeting.id).title == "Monthly meetup"


@pytest.mark.parametrize("capacity", [0, meetings.MAX_CAPACITY + 1, 2**40])
def test_meeting_capacity_out_of_range_is_refused(make, capacity):
    with pytest.raises(Invalid, match="Capacity"):
        meetings.create_meetings(make.group(), _details(capacity=capacity))
