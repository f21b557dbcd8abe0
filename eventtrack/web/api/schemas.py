"""Request and response schemas: validation and the OpenAPI document come from these alone."""

from datetime import UTC, datetime

from flask import request
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ...models import Group, Meeting, User
from ...models.limits import max_length
from ...services.meetings import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_CAPACITY,
    MAX_OCCURRENCES,
    RECURRENCES,
)
from ..hardening import MAX_INTEGER


class Strict(Schema):
    class Meta:
        ordered = True


def text_field(attr, *, required: bool = False, **kwargs) -> fields.String:
    """A string field taking at most as many characters as the column behind ``attr``
    (and, when required, at least one)."""
    length = validate.Length(min=1 if required else None, max=max_length(attr))
    if not required:
        kwargs.setdefault("load_default", "")
    return fields.String(required=required, validate=length, **kwargs)


def email_field() -> fields.Email:
    return fields.Email(required=True, validate=validate.Length(max=max_length(User.email)))


def id_field(**kwargs) -> fields.Integer:
    """An id: a positive integer no larger than an id column holds."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_INTEGER), **kwargs)


def load_json(schema: Schema) -> dict:
    """The request's JSON body loaded by ``schema``, answering bad input as ``@blp.arguments``
    does: 400 for a body that is not JSON, 422 with the fields for one that does not fit."""
    body = {}
    if request.is_json and request.get_data(cache=True):
        body = request.get_json(silent=True)
        if body is None:
            abort(400, messages={"json": ["Invalid JSON body."]})
    try:
        return schema.load(body)
    except ValidationError as err:
        abort(422, messages={"json": err.messages})


class GroupIn(Strict):
    name = text_field(Group.name, required=True)
    description = text_field(Group.description)
    timezone = text_field(
        Group.default_timezone, load_default="UTC", metadata={"example": "Europe/Berlin"}
    )


class GroupOut(Strict):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    timezone = fields.String(attribute="default_timezone")


class MemberIn(Strict):
    name = text_field(User.name, required=True)
    email = email_field()
    company = text_field(User.company)


class MemberOut(Strict):
    user_id = fields.Integer()
    name = fields.String(attribute="user.name")
    email = fields.String(attribute="user.email")
    company = fields.String(attribute="user.company")
    role = fields.String()
    joined_at = fields.AwareDateTime()


# A day inside the years a meeting may take place, wherever it is (UTC-12 to UTC+14).
_MEETING_TIMES = validate.Range(
    min=datetime(FIRST_YEAR, 1, 2, tzinfo=UTC), max=datetime(LAST_YEAR, 12, 30, tzinfo=UTC)
)


class MeetingIn(Strict):
    group_id = id_field(required=True)
    title = text_field(Meeting.title, required=True)
    description = text_field(Meeting.description)
    venue = text_field(Meeting.venue)
    starts_at = fields.AwareDateTime(
        required=True,
        validate=_MEETING_TIMES,
        metadata={"example": "2026-12-08T18:30:00+01:00"},
    )
    ends_at = fields.AwareDateTime(required=True, validate=_MEETING_TIMES)
    timezone = text_field(Meeting.timezone, required=True, metadata={"example": "Europe/Berlin"})
    capacity = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(1, MAX_CAPACITY)
    )
    checkin_opens_minutes = fields.Integer(load_default=60, validate=validate.Range(0, 1440))
    checkin_closes_minutes = fields.Integer(load_default=0, validate=validate.Range(0, 1440))
    followup_delay_minutes = fields.Integer(load_default=120, validate=validate.Range(0, 20160))
    recurrence = fields.String(load_default="none", validate=validate.OneOf(list(RECURRENCES)))
    count = fields.Integer(load_default=1, validate=validate.Range(1, MAX_OCCURRENCES))

    @validates_schema
    def check_order(self, data, **kwargs):
        if data["ends_at"] <= data["starts_at"]:
            raise ValidationError("Must be after starts_at.", field_name="ends_at")


class MeetingOut(Strict):
    id = fields.Integer()
    group_id = fields.Integer()
    series_id = fields.String(allow_none=True)
    title = fields.String()
    description = fields.String()
    venue = fields.String()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    timezone = fields.String()
    capacity = fields.Integer(allow_none=True)
    checkin_opens_at = fields.AwareDateTime()
    checkin_closes_at = fields.AwareDateTime()
    status = fields.String()


class MeetingsOut(Strict):
    meetings = fields.List(fields.Nested(MeetingOut))


class RegistrationIn(Strict):
    user_id = id_field(metadata={"description": "A member of the meeting's group."})
    email = fields.Email(
        validate=validate.Length(max=max_length(User.email)),
        metadata={"description": "Or: the member's email."},
    )

    @validates_schema
    def one_of(self, data, **kwargs):
        if ("user_id" in data) == ("email" in data):
            raise ValidationError("Give exactly one of user_id or email.", field_name="user_id")


class RegistrationOut(Strict):
    id = fields.Integer()
    meeting_id = fields.Integer()
    user_id = fields.Integer()
    name = fields.String(attribute="user.name")
    email = fields.String(attribute="user.email")
    status = fields.String()
    # No pass token, nor the pass URL that carries it: a pass is the member's capability,
    # sent only to their inbox; organisers never see one (DESIGN.md, trust model).
    checked_in_at = fields.AwareDateTime(allow_none=True)
    checkin_how = fields.String(allow_none=True)


class RegistrationsOut(Strict):
    registrations = fields.List(fields.Nested(RegistrationOut))


class ErrorOut(Strict):
    error = fields.Dict(metadata={"example": {"code": "not_found", "message": "No such meeting."}})
