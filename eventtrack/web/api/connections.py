"""API v1: connections."""

from flask_smorest import Blueprint

blp = Blueprint("api_connections", __name__, url_prefix="/api/v1", description="connections")
