"""After the meeting (issue #5): follow-up lists, states, goals, vCards."""

from flask import Blueprint

bp = Blueprint("followups", __name__)
