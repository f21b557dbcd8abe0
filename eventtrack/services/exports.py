"""CSV exports for a group's organisers: the member list, and a meeting's registrations with
attendance. The page, the API (``Accept: text/csv``) and anything else use these two functions.

The files are UTF-8, RFC 4180 (``csv`` module, CRLF line ends, a header row), and safe to open
in a spreadsheet: a cell a member typed that starts with ``= + - @``, a tab or a carriage return
would be read as a formula (CSV injection, OWASP), so it gets a leading single quote. People
appear as the organisers may see them (``services.members``: typed name until they take part).
Each export is one query whatever the size of the group.
"""

import csv
import io
import re
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal, select

from ..extensions import db
from ..models import Group, Meeting, Membership, Registration, User
from ..models.search import fold
from . import members, rules

# What a spreadsheet reads as the start of a formula (or strips before reading one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

MEMBER_HEADER = ("name", "email", "company", "role", "joined", "meetings attended")


def safe_cell(value) -> str:
    """``value`` as text a spreadsheet shows as text: formula starts get a leading quote."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(header: Iterable[str], rows: Iterable[Iterable]) -> str:
    """RFC 4180 text: a header row, then ``rows``, every cell neutralised, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


def _attended_counts(group_id: int):
    """Subquery: per user, how many of the group's meetings they were present at."""
    return (
        select(Registration.user_id, func.count().label("attended"))
        .join(Meeting, Meeting.id == Registration.meeting_id)
        .where(Meeting.group_id == group_id, rules.present(Registration))
        .group_by(Registration.user_id)
        .subquery()
    )


def filename(*parts: str) -> str:
    """An ASCII file name for a download (``Content-Disposition``): ``parts`` slugged, .csv."""
    slug = "-".join(re.sub(r"[^a-z0-9]+", "-", fold(p)).strip("-") for p in parts)
    return (re.sub(r"-+", "-", slug).strip("-") or "export")[:80] + ".csv"


def members_filename(group: Group) -> str:
    return filename(group.name, "members")


def registrations_filename(meeting: Meeting) -> str:
    return filename(meeting.title, meeting.local(meeting.starts_at).strftime("%Y-%m-%d"))


def members_csv(group: Group) -> str:
    """The group's member list as its organisers may see it, by visible name; one query."""
    name = members.visible_name(Membership.group_id, Membership.user_id)
    attended = _attended_counts(group.id)
    rows = db.session.execute(
        select(
            name,
            User.email,
            members.visible_company(Membership.group_id, Membership.user_id),
            Membership.role,
            Membership.joined_at,
            func.coalesce(attended.c.attended, 0),
        )
        .join(User, User.id == Membership.user_id)
        .outerjoin(attended, attended.c.user_id == Membership.user_id)
        .where(Membership.group_id == group.id)
        .order_by(func.lower(name), User.email)
    )
    tz = group.default_timezone
    return to_csv(
        MEMBER_HEADER,
        (
            (who, email, company, role, _local(joined, tz, "%Y-%m-%d"), count)
            for who, email, company, role, joined, count in rows
        ),
    )


def registrations_header(timezone: str) -> tuple[str, ...]:
    """The header of ``registrations_csv`` for a meeting in ``timezone``."""
    return (
        "name",
        "email",
        "company",
        "status",
        f"checked in at ({timezone})",
        "checked in how",
        "first time",
    )


def registrations_csv(meeting: Meeting) -> str:
    """The meeting's registrations with attendance, by status then visible name; one query.

    "first time" is answered for those present only (``rules.first_timer``): of someone who
    did not come, the meeting says nothing about their first visit.
    """
    person, membership, on = members.people_columns(literal(meeting.group_id), User.id)
    name = person[1]
    rows = db.session.execute(
        select(
            name,
            User.email,
            person[3],
            Registration.status,
            Registration.checked_in_at,
            Registration.checkin_how,
            rules.first_timer(Registration),
        )
        .join(User, User.id == Registration.user_id)
        .outerjoin(membership, on)
        .where(Registration.meeting_id == meeting.id)
        .order_by(Registration.status, func.lower(name), User.email)
    )
    tz = meeting.timezone
    return to_csv(
        registrations_header(meeting.timezone),
        (
            (
                who,
                email,
                company,
                status,
                _local(checked_in_at, tz, "%Y-%m-%d %H:%M"),
                how or "",
                ("yes" if first else "no") if checked_in_at else "",
            )
            for who, email, company, status, checked_in_at, how, first in rows
        ),
    )


def _local(when: datetime | None, timezone: str, fmt: str) -> str:
    if when is None:
        return ""
    return when.astimezone(ZoneInfo(timezone)).strftime(fmt)
