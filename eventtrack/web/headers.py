"""Security headers on every answer."""

from flask import Flask


def init_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        # No framing (one-tap check-in and cancel buttons must not be clickjacked), no MIME
        # sniffing, and no full URLs (pass and connect tokens) in Referer headers.
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
