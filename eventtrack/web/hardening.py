"""Bad input gets a clear 4xx, never a 500 (being written: see issue #11)."""

from flask import Flask


def init_hardening(app: Flask) -> None:
    """Install the input checks on ``app``."""
