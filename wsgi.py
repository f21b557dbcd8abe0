"""WSGI entry point: ``gunicorn wsgi:app``."""

from eventtrack import create_app

app = create_app()
