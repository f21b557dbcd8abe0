"""``bench.reports`` at a small size: it builds, measures and reports; and, on the test
database, the report pages run the same statements whatever the number of attendees."""

from datetime import UTC, datetime

import pytest

from bench import reports as bench


def test_the_benchmark_runs_small(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench, "SIZES", (6, 30))
    monkeypatch.setattr(bench, "PER_PERSON", 2)

    results = bench.run(f"sqlite:///{tmp_path / 'bench.sqlite3'}", str(tmp_path), repeat=2)
    bench.report(results)

    out = capsys.readouterr().out
    assert "report page" in out and "picture (network.svg)" in out and "ratio" in out
    small, large = results[6], results[30]
    for what in ("picture (network.svg)", "service: meeting_report", "service: meeting_network"):
        assert small[what].statements == large[what].statements, what
    assert large["picture (network.svg)"].bytes > small["picture (network.svg)"].bytes > 0
    assert large["drawing: network_svg"].statements == 0  # drawing reads nothing


@pytest.mark.parametrize("page", ["report", "network.svg"])
def test_a_meeting_report_runs_the_same_statements_at_any_size(
    app, client, auth, make, count_queries, page
):
    organiser = make.organiser()
    now = datetime.now(UTC).replace(microsecond=0)
    small, large = bench.build(organiser, 5, now), bench.build(organiser, 60, now)
    auth.login_as(organiser)

    counts = []
    for meeting in (small, large):
        with count_queries() as counted:
            assert client.get(f"/organise/meetings/{meeting.id}/{page}").status_code == 200
        counts.append(counted.count)

    assert counts[0] == counts[1]


def test_a_group_report_runs_the_same_statements_at_any_size(
    app, client, auth, make, count_queries
):
    organiser = make.organiser()
    now = datetime.now(UTC).replace(microsecond=0)
    groups = [bench.build(organiser, n, now).group_id for n in (5, 60)]
    auth.login_as(organiser)

    counts = []
    for group_id in groups:
        with count_queries() as counted:
            assert client.get(f"/organise/groups/{group_id}/report").status_code == 200
        counts.append(counted.count)

    assert counts[0] == counts[1]
