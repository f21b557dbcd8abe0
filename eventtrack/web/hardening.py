"""Bad input gets a clear 4xx, never a 500 (issue #11).

What no form or schema could catch, because it breaks things before or beneath them, is
refused here once for every route:

- an id in a path larger than an id column holds (``<int:…>`` simply does not match: 404);
- text no database column can store: a NUL character (PostgreSQL refuses it) or a lone
  surrogate (not UTF-8 at all) in the path, the query string, a form, an uploaded file or a
  JSON body (400);
- JSON that is not JSON, nests deeper than any input we take (the parser would otherwise
  recurse until Python gives up) or holds an integer no column can hold (400/422);
- a body over ``MAX_CONTENT_LENGTH`` answered by the 413 page, which must not fail itself.

JSON is parsed once, here; routes reading ``request.get_json()`` get the cached result.
"""

import json

from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnprocessableEntity
from werkzeug.routing import IntegerConverter, ValidationError

# Every integer column of ours, ids included, is INTEGER: 32 bits on PostgreSQL, where
# SQLAlchemy casts a bound integer to INTEGER and a larger one fails the statement ("integer
# out of range") instead of finding nothing; past 64 bits SQLite's driver fails too. No
# larger number can mean anything here (tests/test_limits.py keeps the columns INTEGER).
MAX_INTEGER = 2**31 - 1
MIN_INTEGER = -(2**31)
# No input of the API nests past two levels; the JSON parser recurses per level.
MAX_JSON_DEPTH = 32

_FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class IdConverter(IntegerConverter):
    """``<int:…>`` matching only ids a column can hold: a larger one is a 404, never an
    overflow in the database driver."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_INTEGER, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> int:
        # int() refuses strings of over 4,300 digits with a ValueError (a 500 from routing).
        if len(value) > 20:
            raise ValidationError()
        return super().to_python(value)


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON, where input nested too deeply for the parser is invalid JSON (a 400 via
    ``Request.on_json_loading_failed``) rather than a ``RecursionError`` (a 500)."""

    def loads(self, s, **kwargs):
        try:
            return json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply.") from None


class HardenedRequest(Request):
    def _load_form_data(self) -> None:
        try:
            super()._load_form_data()
        except RequestEntityTooLarge:
            # The 413 page still renders forms (the sign-out button reads request.form): let
            # them see an empty form instead of raising again while the 413 is answered.
            empty = self.parameter_storage_class()
            self.__dict__.update(form=empty, files=empty)
            raise


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None."""
    if "\x00" in text:
        return "Contains a NUL character (\\x00), which cannot be stored."
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "Contains a lone surrogate (e.g. \\ud800), which is not valid Unicode."
    return None


def upload_problem(upload) -> str | None:
    """Why uploaded file ``upload`` cannot be read as text, or None.

    Every file the app takes is a CSV whose cells are stored (members, rounds): a NUL byte
    in one can never be stored, and is most often a UTF-16 file. A route that one day takes
    binary files must be exempted here.
    """
    stream = upload.stream
    start = stream.tell()
    try:
        while chunk := stream.read(64 * 1024):
            if b"\x00" in chunk:
                return "Contains NUL bytes: save the file as CSV in UTF-8 and upload it again."
    finally:
        stream.seek(start)
    return None


def json_problem(data) -> tuple[str, str, int] | None:
    """``(field, message, status)`` for the first value in parsed JSON ``data`` that no
    column could take, or None. One pass, without recursion; a path is built only for the
    containers it descends into (a check-in's flat object has none)."""
    stack = [(data, ())]
    while stack:
        container, path = stack.pop()
        if type(container) is dict:
            items = container.items()
        elif type(container) is list:
            items = enumerate(container)
        else:  # a bare value as the whole body
            items = ((None, container),)
        if len(path) >= MAX_JSON_DEPTH:
            return _field(path), f"Nested deeper than {MAX_JSON_DEPTH} levels.", 400
        for key, value in items:
            kind = type(value)
            if kind is str:
                # The common case (short ASCII text) costs two string scans.
                if ("\x00" in value or not value.isascii()) and (problem := text_problem(value)):
                    return _field(path, key), problem, 400
            elif kind is dict or kind is list:
                stack.append((value, (*path, key)))
            elif (kind is int or kind is float) and not MIN_INTEGER <= value <= MAX_INTEGER:
                # Python's parser also takes NaN and Infinity, which fail this comparison too.
                message = f"Must be between {MIN_INTEGER:,} and {MAX_INTEGER:,}."
                return _field(path, key), message, 422
            if (
                type(key) is str
                and ("\x00" in key or not key.isascii())
                and (problem := text_problem(key))
            ):
                return _field(path), f"A key: {problem}", 400
    return None


def _field(path: tuple, key=None) -> str:
    if key is not None:
        path = (*path, key)
    return ".".join(map(str, path)) or "_body"


def _refuse(status: int, location: str, field: str, message: str):
    """Raise a 400/422 shaped as webargs' (the app's handler names the field)."""
    exc = (UnprocessableEntity if status == 422 else BadRequest)(f"{field}: {message}")
    exc.data = {"messages": {location: {field: [message]}}}
    raise exc


def check_input() -> None:
    """Refuse text no column can store in the path, query, form or JSON body.

    Runs on every request, the door's check-ins included: it reads the raw environ first and
    parses only what is there (werkzeug decodes paths, queries and forms with replacement
    characters, so there only a NUL can be wrong).
    """
    req = request._get_current_object()
    environ = req.environ
    if "\x00" in req.path:
        raise BadRequest(f"The address: {text_problem(req.path)}")
    query = environ.get("QUERY_STRING")
    if query and ("%00" in query or "\x00" in query):
        for key, value in req.args.items(multi=True):
            if problem := text_problem(key) or text_problem(value):
                _refuse(400, "query", key, problem)
    if not environ.get("CONTENT_TYPE"):  # no body to look at: a GET
        return
    if req.mimetype in _FORM_MIMETYPES:
        for key, value in req.form.items(multi=True):
            if problem := text_problem(key) or text_problem(value):
                _refuse(400, "form", key, problem)
        for key, upload in req.files.items(multi=True):
            if problem := (
                text_problem(key) or text_problem(upload.filename or "") or upload_problem(upload)
            ):
                _refuse(400, "files", key, problem)
    elif req.is_json and req.get_data(cache=True):
        found = json_problem(req.get_json())  # 400 (our error handler) if not JSON
        if found:
            field, message, status = found
            _refuse(status, "json", field, message)


def init_hardening(app: Flask) -> None:
    """Install the input checks on ``app``; call before blueprints add their routes, so that
    their ``<int:…>`` rules are built with ``IdConverter``."""
    app.url_map.converters["int"] = IdConverter
    app.request_class = HardenedRequest
    app.json = SafeJSONProvider(app)
    app.before_request(check_input)
