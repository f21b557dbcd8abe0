"""Demo data for a newcomer's first `make run`: one group, a past and an upcoming meeting.

The past meeting already shows the payoff: its attendees' follow-up mails are queued (the
worker that `make run` starts writes them to instance/mail/ as .eml within seconds) and a few
people have since marked follow-ups done or noted what they promised. Ada Lovelace is the
attendee to look through: she met two people, noted one, followed up with one and promised
another something; her follow-up mail links to her list.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ..extensions import db
from ..models import Connection, Registration, User
from ..models.vocabularies import CheckinHow, ConnectionHow, FollowUpState, RegistrationStatus
from . import followup_mail, followups, groups, meetings, registrations
from .meetings import MeetingDetails

DEMO_ORGANISER = ("organiser@example.com", "Olivia Organiser", "demo-organiser-pw")
DEMO_TZ = "Europe/Berlin"
PEOPLE = [
    (
        "Ada Lovelace",
        "Analytical Engines",
        "Founder",
        "compilers, poetry",
        "a technical co-founder",
        "intros to investors",
    ),
    (
        "Grace Hopper",
        "US Navy Labs",
        "Rear Admiral, languages",
        "compilers, teaching",
        "speakers for a meetup",
        "mentoring, public speaking",
    ),
    (
        "Alan Turing",
        "Bletchley Park",
        "Mathematician",
        "AI, chess",
        "two client leads",
        "code reviews",
    ),
    (
        "Katherine Johnson",
        "NASA",
        "Orbital mechanics",
        "space, teaching",
        "mentoring",
        "maths tutoring",
    ),
    (
        "Tim Berners-Lee",
        "CERN",
        "Web architect",
        "open data, standards",
        "a UX designer",
        "intros to standards people",
    ),
    (
        "Radia Perlman",
        "DEC",
        "Network engineer",
        "networks, teaching",
        "a co-author",
        "protocol design reviews",
    ),
    (
        "Linus Torvalds",
        "Transmeta",
        "Kernel hacker",
        "open source, diving",
        "maintainers",
        "code reviews",
    ),
    (
        "Margaret Hamilton",
        "MIT",
        "Software engineering lead",
        "reliability, space",
        "two client leads",
        "a technical co-founder",
    ),
    (
        "Hedy Lamarr",
        "MGM",
        "Actor and inventor",
        "radio, invention",
        "intros to investors",
        "pitch coaching",
    ),
    (
        "Donald Knuth",
        "Stanford",
        "Professor",
        "typesetting, organ music",
        "proofreaders",
        "typography advice",
    ),
]


def load_demo(now: datetime) -> User | None:
    """Fill an empty database with demo data, in the caller's transaction; return the demo
    organiser (None if not empty)."""
    if db.session.scalar(select(func.count()).select_from(User)):
        return None
    email, name, password = DEMO_ORGANISER
    organiser = User(email=email, name=name, headline="Runs the Berlin Product Circle")
    organiser.set_password(password)
    db.session.add(organiser)
    db.session.flush()
    group = groups.create_group(
        organiser,
        "Berlin Product Circle",
        "Founders, engineers and designers meeting monthly to trade help, leads and honest "
        "feedback.",
        DEMO_TZ,
    )
    people = []
    for person_name, company, headline, interests, asks, offers in PEOPLE:
        local = person_name.lower().replace(" ", ".").replace("-", "")
        membership, _ = groups.add_member(group, person_name, f"{local}@example.com", company)
        # Demo people have taken part (see services.members): the pages show their names.
        membership.engaged_at = now - timedelta(days=30)
        user = membership.user
        user.headline, user.interests, user.asks, user.offers = headline, interests, asks, offers
        user.share_contact = len(people) % 3 != 2
        people.append(user)
    tz = ZoneInfo(DEMO_TZ)
    local_now = now.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)

    def evening(days: int) -> MeetingDetails:
        day = (local_now + timedelta(days=days)).replace(hour=18, minute=30)
        return MeetingDetails(
            title="Product Circle: hiring in a downturn",
            starts_local=day,
            ends_local=day + timedelta(hours=2, minutes=30),
            timezone=DEMO_TZ,
            venue="Factory Berlin, Rheinsberger Str. 76",
            capacity=40,
            description="Lightning talks, then an hour of structured networking.",
        )

    (past,) = meetings.create_meetings(group, evening(-14))
    past.title = "Product Circle: pricing experiments"
    for i, user in enumerate(people[:8]):
        reg = Registration(
            meeting_id=past.id,
            user_id=user.id,
            pass_token=registrations.new_pass_token(),
            status=RegistrationStatus.GOING,
            created_at=past.starts_at - timedelta(days=7),
            status_changed_at=past.starts_at - timedelta(days=7),
        )
        if i < 7:  # one no-show
            reg.checked_in_at = past.starts_at + timedelta(minutes=3 * i)
            reg.checkin_how = CheckinHow.PASS_SCAN if i % 2 else CheckinHow.KIOSK
            reg.checked_in_by_id = organiser.id if i % 2 else None
        db.session.add(reg)
    for a, b, note in [
        (0, 1, "Talked compilers; send her the paper."),
        (0, 2, ""),
        (2, 3, "Wants maths tutoring for her team."),
        (4, 5, ""),
        (1, 6, ""),
    ]:
        ua, ub = sorted((people[a], people[b]), key=lambda u: u.id)
        db.session.add(
            Connection(
                meeting_id=past.id,
                user_a_id=ua.id,
                user_b_id=ub.id,
                how=ConnectionHow.SCAN,
                created_by_id=people[a].id,
                created_at=past.starts_at + timedelta(minutes=40),
                note_a=note if ua is people[a] else "",
                note_b=note if ub is people[a] else "",
            )
        )
    db.session.flush()
    _follow_up(past, people, now)
    upcoming = meetings.create_meetings(group, evening(7))[0]
    for user in people[:6]:
        registrations.register(upcoming, user, now)
    return organiser


# (who, whom they met, days after the meeting they marked it done) — and one promise.
DONE = [(0, 1, 1), (2, 3, 2), (5, 4, 3)]
PROMISE = (0, 2, "Send Alan the two client leads", 10)


def _follow_up(past, people: list[User], now: datetime) -> None:
    """Queue the past meeting's follow-up mails (due long ago), then the states people set
    once they had their lists."""
    followup_mail.queue_followups(past, now)
    for owner, other, days in DONE:
        followups.set_state(
            past,
            people[owner],
            people[other].id,
            FollowUpState.DONE,
            past.ends_at + timedelta(days=days),
        )
    owner, other, text, due_in = PROMISE
    followups.set_promise(
        past,
        people[owner],
        people[other].id,
        text,
        (now + timedelta(days=due_in)).date(),
        past.ends_at + timedelta(days=1),
    )
