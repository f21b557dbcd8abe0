"""Absolute links for mail, QR codes and the API, built from ``BASE_URL`` outside any request."""

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    """Return the absolute URL of ``endpoint`` under the configured ``BASE_URL``."""
    parts = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "http"
    )
    return adapter.build(endpoint, values, force_external=True)
