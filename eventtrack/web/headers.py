"""Security headers on every answer: a strict Content-Security-Policy and its companions."""

from flask import Flask, Response

# Only our own files run, style and load: no inline script, handler or style anywhere (a test
# scans the templates), so injected markup can neither run nor restyle a page.
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    # The vendored qr-scanner starts its decoder as a Worker from a blob: URL it makes itself;
    # only our own scripts can run to make one.
    "worker-src": "'self' blob:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    # No framing: one-tap check-in and cancel buttons must not be clickjacked.
    "frame-ancestors": "'none'",
}
HSTS_ONE_YEAR = "max-age=31536000; includeSubDomains"


def content_security_policy() -> str:
    """Return the policy as one header value."""
    return "; ".join(f"{directive} {sources}" for directive, sources in CSP.items())


def security_headers(base_url: str) -> dict[str, str]:
    """Return the headers every answer of an app served at ``base_url`` carries."""
    headers = {
        "Content-Security-Policy": content_security_policy(),
        "X-Frame-Options": "DENY",  # for browsers older than frame-ancestors
        "X-Content-Type-Options": "nosniff",
        # No full URLs (pass and connect tokens are in them) in Referer headers.
        "Referrer-Policy": "same-origin",
    }
    if base_url.startswith("https://"):
        # Only when the app is served over TLS: a browser that saw it refuses plain http to
        # this host for a year, which an http-only install could not survive.
        headers["Strict-Transport-Security"] = HSTS_ONE_YEAR
    return headers


def init_headers(app: Flask) -> None:
    """Add the security headers to every response of ``app`` (pages, JSON, errors, files)."""
    headers = security_headers(app.config["BASE_URL"])

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        # setdefault: a view may send a stricter policy of its own.
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
