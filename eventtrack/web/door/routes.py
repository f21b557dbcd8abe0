"""Check-in at the door (issue #3): organiser scanner, kiosk, poster, manual, live door view."""

from flask import Blueprint

bp = Blueprint("door", __name__, url_prefix="/door")
