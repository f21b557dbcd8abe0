"""CSV exports: RFC 4180 read back by Python's csv module, formula-safe, what organisers may
see, one query whatever the size."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from eventtrack.extensions import db
from eventtrack.services import exports

HOSTILE = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTab", "\rCR", 'Quote "x", comma\nline']


def read(text: str) -> list[list[str]]:
    """Parse as a spreadsheet importer would; CRLF line ends, nothing left over."""
    assert text.endswith("\r\n")
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Ada = fine", "Ada = fine"),
        (3, "3"),
        (None, ""),
    ],
)
def test_safe_cell_quotes_formula_starts_only(value, expected):
    assert exports.safe_cell(value) == expected


def test_hostile_member_values_are_neutralised_and_read_back(make, tmp_path):
    group = make.group(name="Circle")
    for i, value in enumerate(HOSTILE):
        make.member(group, name=value, email=f"h{i}@example.com", company="x")
    path = tmp_path / "members.csv"
    path.write_bytes(exports.members_csv(group).encode("utf-8"))
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(exports.MEMBER_HEADER)
    names = {row[0] for row in rows[1:]}
    for value in HOSTILE:
        safe = "'" + value if value[0] in "=+-@\t\r" else value
        assert safe in names
    for row in rows[1:]:
        assert len(row) == len(exports.MEMBER_HEADER)
        assert not any(cell.startswith(exports.FORMULA_STARTS) for cell in row)


def test_members_csv_shows_typed_name_until_engaged_and_counts_attendance(make, now):
    group = make.group(name="Circle")
    quiet = make.user(name="Real Name", email="quiet@example.com", company="Secret Co")
    from eventtrack.models import Membership

    db.session.add(Membership(group_id=group.id, user_id=quiet.id, typed_name="Typed"))
    db.session.commit()
    regular = make.member(group, name="Özlem Regular", email="oz@example.com", company="Acme")
    past = [make.meeting(group, starts_in=timedelta(days=-d), now=now) for d in (14, 7)]
    for m in past:
        make.registration(m, regular, checked_in_at=m.starts_at, checkin_how="manual")
    rows = read(exports.members_csv(group))
    by_email = {r[1]: r for r in rows[1:]}
    assert by_email["quiet@example.com"][0] == "Typed"
    assert by_email["quiet@example.com"][2] == ""  # their company is not the organiser's to see
    assert by_email["quiet@example.com"][5] == "0"
    assert by_email["oz@example.com"][:3] == ["Özlem Regular", "oz@example.com", "Acme"]
    assert by_email["oz@example.com"][5] == "2"
    assert by_email["oz@example.com"][3] == "member"
    assert len(by_email) == 3  # the organiser too


def test_registrations_csv_has_local_check_in_time_how_and_first_time(make, now):
    group = make.group(name="Circle")
    first, regular, absent = (make.member(group, name=n) for n in ("First", "Regular", "Absent"))
    earlier = make.meeting(group, starts_in=timedelta(days=-7), now=now)
    make.registration(earlier, regular, checked_in_at=earlier.starts_at, checkin_how="manual")
    meeting = make.meeting(group, timezone="Europe/Berlin", now=now, title="=Evil title")
    at = datetime(2026, 6, 1, 16, 5, tzinfo=UTC)  # 18:05 in Berlin (summer time)
    make.registration(meeting, first, checked_in_at=at, checkin_how="pass_scan")
    make.registration(meeting, regular, checked_in_at=at, checkin_how="kiosk")
    make.registration(meeting, absent, status="waitlist")
    rows = read(exports.registrations_csv(meeting))
    assert rows[0][4] == "checked in at (Europe/Berlin)"
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["First"][3:] == ["going", "2026-06-01 18:05", "pass_scan", "yes"]
    assert by_name["Regular"][3:] == ["going", "2026-06-01 18:05", "kiosk", "no"]
    assert by_name["Absent"][3:] == ["waitlist", "", "", ""]
    assert exports.registrations_filename(meeting).startswith("evil-title-")


def test_exports_take_one_query_whatever_the_size(make, now, count_queries):
    group = make.group()
    meeting = make.meeting(group, now=now)
    counts = []
    for extra in (2, 40):
        for _ in range(extra):
            u = make.member(group)
            make.registration(meeting, u, checked_in_at=now, checkin_how="manual")
        db.session.expire_all()
        group, meeting = db.session.merge(group), db.session.merge(meeting)
        _ = group.default_timezone, meeting.timezone  # loaded before counting
        with count_queries() as q:
            members_text = exports.members_csv(group)
            regs_text = exports.registrations_csv(meeting)
        counts.append(q.count)
        assert len(read(regs_text)) == len(read(members_text)) - 1  # the organiser: no place
    assert counts[0] == counts[1] == 2


def test_filename_is_ascii_and_never_empty(make):
    assert exports.filename("Ünïcode Circle!", "members") == "unicode-circle-members.csv"
    assert exports.filename("!!!") == "export.csv"
