"""The organiser's pages at scale: the same number of SQL statements whatever the size of the
group (driver-level statements included), and under 100 KB of HTML at the larger size.

Two groups of the same organiser, SMALL and LARGE members, built by ``bench.pages.build``
(the benchmark's own data: accents, typed and engaged members, a waitlist, check-ins by three
ways, pass mails). Each page is requested once to warm up, then counted.
"""

import pytest
from flask import url_for
from sqlalchemy import event

from bench import pages as scale
from eventtrack.database import DriverStatement
from eventtrack.extensions import db

SMALL, LARGE = 5, 60
MAX_HTML_BYTES = 100_000


class Statements:
    """Counts every statement sent to the database: SQLAlchemy's (``before_cursor_execute``)
    and the driver-level ones that bypass its events (``DriverStatement.first``)."""

    def __init__(self, monkeypatch):
        self.count = 0
        self.sql: list[str] = []
        original = DriverStatement.first

        def counted_first(statement, params, on=None):
            self.count += 1
            self.sql.append("driver: " + (statement.sql or "compiled"))
            return original(statement, params, on)

        monkeypatch.setattr(DriverStatement, "first", counted_first)

    def _on_execute(self, conn, cursor, statement, *args):
        self.count += 1
        self.sql.append(statement)

    def __enter__(self):
        self.count, self.sql = 0, []
        event.listen(db.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._on_execute)


@pytest.fixture
def groups(app, make, now, auth):
    organiser = make.organiser()
    built = {size: scale.build(organiser, size, now, f"s{size}") for size in (SMALL, LARGE)}
    auth.login_as(organiser)
    token = make.api_token(organiser)
    return built, token


def _page_urls(sg) -> dict[str, str]:
    return {
        "group page": f"/organise/groups/{sg.group.id}",
        "meeting page": f"/organise/meetings/{sg.today.id}",
        "door manual list": f"/door/m/{sg.today.id}/manual",
    }


def _export_urls(app, sg) -> dict[str, str]:
    """The organiser pages' CSV downloads, wherever the pages put them (found by endpoint)."""
    urls = {}
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if (
                rule.endpoint.startswith("organiser.")
                and "GET" in rule.methods
                and ("csv" in rule.rule or "export" in rule.rule)
            ):
                args = {"group_id": sg.group.id, "meeting_id": sg.today.id}
                urls[rule.endpoint] = url_for(
                    rule.endpoint, **{k: args[k] for k in rule.arguments if k in args}
                )
    return urls


def _measure(client, url, monkeypatch, headers=None) -> tuple[int, int, list[str]]:
    first = client.get(url, headers=headers)
    assert first.status_code == 200, (url, first.status_code)
    db.session.expire_all()
    with Statements(monkeypatch) as counted:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return counted.count, len(response.get_data()), counted.sql


@pytest.mark.parametrize("page", ["group page", "meeting page", "door manual list"])
def test_organiser_page_takes_the_same_statements_at_any_size(client, groups, page, monkeypatch):
    built, _ = groups
    small, _, small_sql = _measure(client, _page_urls(built[SMALL])[page], monkeypatch)
    large, size, large_sql = _measure(client, _page_urls(built[LARGE])[page], monkeypatch)
    assert large == small, (
        f"{page}: {small} statements at {SMALL}, {large} at {LARGE}: "
        + ("\n".join(s for s in large_sql if s not in small_sql)[:3000])
    )
    assert size < MAX_HTML_BYTES, f"{page}: {size} bytes at {LARGE} members"


@pytest.mark.parametrize(
    "path",
    ["/api/v1/groups/{group}/members", "/api/v1/meetings/{meeting}/registrations"],
)
def test_csv_exports_take_the_same_statements_at_any_size(client, groups, path, monkeypatch):
    built, token = groups
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/csv"}
    counts = {}
    for size, sg in built.items():
        url = path.format(group=sg.group.id, meeting=sg.today.id)
        counts[size], _, _ = _measure(client, url, monkeypatch, headers)
        rows = client.get(url, headers=headers).get_data(as_text=True).count("\r\n")
        assert rows >= size + 1  # a header and every member / registration: not paginated
    assert counts[SMALL] == counts[LARGE]


def test_organiser_page_csv_downloads_take_the_same_statements(app, client, groups, monkeypatch):
    built, _ = groups
    small_urls, large_urls = _export_urls(app, built[SMALL]), _export_urls(app, built[LARGE])
    assert small_urls, "the organiser pages offer no CSV download"
    for endpoint, url in small_urls.items():
        small, _, _ = _measure(client, url, monkeypatch)
        large, _, _ = _measure(client, large_urls[endpoint], monkeypatch)
        assert small == large, endpoint
