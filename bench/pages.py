"""A group of N members as a real one looks after a few weeks, made with set-based inserts
(one executemany per table) so that 5,000 members take a second or two, not minutes.

Shared by the benchmark below (50 and 5,000) and ``tests/web/test_page_scale.py`` (5 and 60):

- N members (names with accents, companies), two thirds of them engaged (they took part), the
  rest as the organiser typed them; search keys folded as the app folds them;
- a meeting a week ago that half of them attended (so first-timers mean something today);
- today's meeting, started half an hour ago (check-in open), everyone registered, the last
  tenth on the waitlist, 60 % checked in by three ways, each with a sent pass mail;
- a meeting next week nobody registered for yet (for "register everyone").
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select

from eventtrack.extensions import db
from eventtrack.models import (
    Group,
    Meeting,
    Membership,
    OutboxMessage,
    Registration,
    User,
)
from eventtrack.models.search import fold
from eventtrack.models.vocabularies import CheckinHow, MailStatus, RegistrationStatus, Role
from eventtrack.services.registrations import new_pass_token

FIRST = ["Özlem", "Ana", "José", "Łukasz", "Chloé", "Søren", "Mia", "Ravi", "Noor", "Ben"]
LAST = ["Yılmaz", "García", "Müller", "Nowak", "Dubois", "Hansen", "Rossi", "Patel", "Kim"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", ""]
HOWS = [CheckinHow.PASS_SCAN, CheckinHow.MANUAL, CheckinHow.KIOSK]


@dataclass
class ScaleGroup:
    group: Group
    last_week: Meeting
    today: Meeting
    next_week: Meeting
    size: int


def _meeting(group: Group, title: str, start: datetime, capacity: int | None) -> Meeting:
    m = Meeting(
        group_id=group.id,
        title=title,
        venue="Main hall",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        timezone="Europe/Berlin",
        capacity=capacity,
        checkin_opens_at=start - timedelta(hours=1),
        checkin_closes_at=start + timedelta(hours=2),
    )
    db.session.add(m)
    return m


def build(organiser: User, size: int, now: datetime, tag: str) -> ScaleGroup:
    """The group of ``size`` members organised by ``organiser``; committed. ``tag`` keeps
    addresses of several groups in one database apart."""
    group = Group(name=f"Scale {tag}", default_timezone="Europe/Berlin")
    group.memberships.append(
        Membership(
            user=organiser,
            role=Role.ORGANISER,
            typed_name=organiser.name,
            engaged_at=now,
            search_key=fold(organiser.name, organiser.email),
        )
    )
    db.session.add(group)
    db.session.flush()
    going = size - size // 10
    last_week = _meeting(group, "Last week", now - timedelta(days=7), None)
    today = _meeting(group, "Tonight", now - timedelta(minutes=30), going)
    next_week = _meeting(group, "Next week", now + timedelta(days=7), None)
    db.session.flush()

    people = []
    for i in range(size):
        name = f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]} {i}"
        company = COMPANIES[i % len(COMPANIES)]
        people.append({"name": name, "email": f"m{i}@{tag}.scale.test", "company": company})
    db.session.execute(insert(User), people)
    ids = db.session.scalars(
        select(User.id).where(User.email.like(f"%@{tag}.scale.test")).order_by(User.id)
    ).all()
    db.session.execute(
        insert(Membership),
        [
            {
                "group_id": group.id,
                "user_id": uid,
                "role": Role.MEMBER,
                "joined_at": now - timedelta(days=30),
                "typed_name": p["name"],
                "engaged_at": now if i % 3 else None,
                "search_key": fold(p["name"], p["email"], p["company"] if i % 3 else ""),
            }
            for i, (uid, p) in enumerate(zip(ids, people, strict=True))
        ],
    )
    registrations = []
    for i, uid in enumerate(ids):
        if i % 2 == 0:
            registrations.append(_registration(last_week, uid, i, now - timedelta(days=7)))
        present = i < going and i % 5 < 3
        reg = _registration(today, uid, i, now - timedelta(minutes=20) if present else None)
        if i >= going:
            reg["status"] = RegistrationStatus.WAITLIST
        registrations.append(reg)
    for reg in registrations:
        reg["checked_in_by_id"] = organiser.id if reg["checked_in_at"] else None
    db.session.execute(insert(Registration), registrations)
    db.session.execute(
        insert(OutboxMessage),
        [
            {
                "kind": "pass",
                "dedup_key": f"pass:scale:{today.id}:{uid}",
                "recipient": p["email"],
                "recipient_name": p["name"],
                "user_id": uid,
                "meeting_id": today.id,
                "message_id": f"<scale.{today.id}.{uid}@eventtrack.test>",
                "subject": "Your pass: Tonight",
                "body_text": "Your pass.",
                "status": MailStatus.SENT,
                "attempts": 1,
                "next_attempt_at": now - timedelta(days=1),
                "created_at": now - timedelta(days=1),
                "sent_at": now - timedelta(days=1),
            }
            for uid, p in zip(ids, people, strict=True)
        ],
    )
    db.session.commit()
    return ScaleGroup(group, last_week, today, next_week, size)


def _registration(meeting: Meeting, user_id: int, i: int, checked_in_at) -> dict:
    return {
        "meeting_id": meeting.id,
        "user_id": user_id,
        "status": RegistrationStatus.GOING,
        "pass_token": new_pass_token(),
        "created_at": meeting.starts_at - timedelta(days=3),
        "status_changed_at": meeting.starts_at - timedelta(days=3),
        "checked_in_at": checked_in_at,
        "checkin_how": HOWS[i % len(HOWS)] if checked_in_at else None,
    }
