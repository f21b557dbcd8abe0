"""Request and response schemas: validation and the OpenAPI document come from these alone."""

from flask import request
from flask_smorest import abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ...services.meetings import MAX_OCCURRENCES, RECURRENCES
from ...services.registrations import pass_url


class Strict(Schema):
    class Meta:
        ordered = True


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
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    description = fields.String(load_default="", validate=validate.Length(max=4000))
    timezone = fields.String(load_default="UTC", metadata={"example": "Europe/Berlin"})


class GroupOut(Strict):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    timezone = fields.String(attribute="default_timezone")


class MemberIn(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    email = fields.Email(required=True)
    company = fields.String(load_default="", validate=validate.Length(max=120))


class MemberOut(Strict):
    user_id = fields.Integer()
    name = fields.String(attribute="user.name")
    email = fields.String(attribute="user.email")
    company = fields.String(attribute="user.company")
    role = fields.String()
    joined_at = fields.AwareDateTime()


class MeetingIn(Strict):
    group_id = fields.Integer(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=160))
    description = fields.String(load_default="")
    venue = fields.String(load_default="", validate=validate.Length(max=200))
    starts_at = fields.AwareDateTime(
        required=True, metadata={"example": "2026-12-08T18:30:00+01:00"}
    )
    ends_at = fields.AwareDateTime(required=True)
    timezone = fields.String(required=True, metadata={"example": "Europe/Berlin"})
    capacity = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
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
    user_id = fields.Integer(metadata={"description": "A member of the meeting's group."})
    email = fields.Email(metadata={"description": "Or: the member's email."})

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
    pass_token = fields.String()
    pass_url = fields.Function(pass_url)
    checked_in_at = fields.AwareDateTime(allow_none=True)
    checkin_how = fields.String(allow_none=True)


class RegistrationsOut(Strict):
    registrations = fields.List(fields.Nested(RegistrationOut))


class ErrorOut(Strict):
    error = fields.Dict(metadata={"example": {"code": "not_found", "message": "No such meeting."}})
