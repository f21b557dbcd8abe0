"""eventtrack: turn a meetup into relationships."""

from pathlib import Path

from flask import Flask

from .config import load_config
from .extensions import csrf, db, limiter, login_manager, migrate
from .logs import init_logging

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the app; ``test_config`` replaces instance and environment config."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    if test_config and test_config.get("INSTANCE_PATH"):
        app.instance_path = test_config["INSTANCE_PATH"]
    load_config(app, test_config)
    init_logging(app)  # before anything logs: JSON lines with LOG_JSON

    from . import models  # noqa: F401  (register tables with the metadata)
    from .database import init_database

    db.init_app(app)
    init_database(app)
    from .transaction import init_transactions

    init_transactions(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    from .web import init_web

    init_web(app)

    from .cli import init_cli

    init_cli(app)
    return app
