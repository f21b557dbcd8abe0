"""API v1: followups."""

from flask_smorest import Blueprint

blp = Blueprint("api_followups", __name__, url_prefix="/api/v1", description="followups")
