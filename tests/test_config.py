from eventtrack import create_app
from eventtrack.extensions import db


def test_environment_variables_configure_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("EVENTTRACK_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    monkeypatch.setenv("EVENTTRACK_BASE_URL", "https://meet.example.org/")
    monkeypatch.setenv("EVENTTRACK_MAIL_PORT", "2525")
    app = create_app()
    app.instance_path = str(tmp_path)
    assert app.config["BASE_URL"] == "https://meet.example.org"
    assert app.config["MAIL_PORT"] == 2525
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.sqlite3")
    with app.app_context():
        db.engine.dispose()


def test_postgres_urls_use_psycopg3(monkeypatch, tmp_path):
    monkeypatch.setenv("EVENTTRACK_DATABASE_URL", "postgresql://u@127.0.0.1:5432/x")
    app = create_app(
        {
            "DATABASE_URL": "postgresql://u@127.0.0.1:5432/x",
            "SECRET_KEY": "k",
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path):
    config = {"DATABASE_URL": f"sqlite:///{tmp_path / 'k.sqlite3'}", "INSTANCE_PATH": str(tmp_path)}
    first = create_app(dict(config))
    second = create_app(dict(config))
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    for app in (first, second):
        with app.app_context():
            db.engine.dispose()
