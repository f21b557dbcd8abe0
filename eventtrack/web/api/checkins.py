"""API v1: checkins."""

from flask_smorest import Blueprint

blp = Blueprint("api_checkins", __name__, url_prefix="/api/v1", description="checkins")
