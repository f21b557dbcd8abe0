"""Who met whom at the event (issue #4): connect codes, people here, suggestions, notes."""

from flask import Blueprint

bp = Blueprint("connect", __name__)
