"""Test data factories: small functions making committed rows with sensible defaults."""

import itertools
from datetime import UTC, datetime, timedelta

from eventtrack.extensions import db
from eventtrack.models import Group, Meeting, Membership, Registration, User
from eventtrack.services.registrations import new_pass_token

PASSWORD = "correct horse battery"
_seq = itertools.count(1)
# scrypt takes a tenth of a second by design, and most tests make an organiser with a password:
# each password is hashed once per run (by the app, a real salted hash that signing in checks).
_hashes: dict[str, str] = {}


def user(name=None, email=None, password=None, **profile) -> User:
    n = next(_seq)
    u = User(
        name=name or f"Person {n}", email=(email or f"person{n}@example.com").lower(), **profile
    )
    if password:
        if password not in _hashes:
            u.set_password(password)
            _hashes[password] = u.password_hash
        u.password_hash = _hashes[password]
    db.session.add(u)
    db.session.commit()
    return u


def organiser(email=None, name="Olivia Organiser") -> User:
    return user(name=name, email=email or f"organiser{next(_seq)}@example.com", password=PASSWORD)


def group(owner: User | None = None, name="Product Circle", timezone="Europe/Berlin") -> Group:
    owner = owner or organiser()
    g = Group(name=name, default_timezone=timezone)
    g.memberships.append(
        Membership(
            user=owner, role="organiser", typed_name=owner.name, engaged_at=datetime.now(UTC)
        )
    )
    db.session.add(g)
    db.session.commit()
    return g


def member(g: Group, **kwargs) -> User:
    u = user(**kwargs)
    # As an organiser adds them: the name typed, not yet taking part (services.members).
    db.session.add(Membership(group_id=g.id, user_id=u.id, role="member", typed_name=u.name))
    db.session.commit()
    return u


def meeting(
    g: Group,
    *,
    starts_in=timedelta(days=7),
    duration=timedelta(hours=2),
    capacity=None,
    title="Monthly meetup",
    timezone="Europe/Berlin",
    now: datetime | None = None,
    **kwargs,
) -> Meeting:
    start = (now or datetime.now(UTC)).replace(microsecond=0) + starts_in
    m = Meeting(
        group_id=g.id,
        title=title,
        starts_at=start,
        ends_at=start + duration,
        timezone=timezone,
        capacity=capacity,
        checkin_opens_at=start - timedelta(hours=1),
        checkin_closes_at=start + duration,
        **kwargs,
    )
    db.session.add(m)
    db.session.commit()
    return m


def registration(m: Meeting, u: User | None = None, status="going", **kwargs) -> Registration:
    if u is None:
        u = member(m.group)
    r = Registration(
        meeting_id=m.id, user_id=u.id, status=status, pass_token=new_pass_token(), **kwargs
    )
    db.session.add(r)
    db.session.commit()
    return r


def registrations(m: Meeting, count: int) -> list[Registration]:
    """``count`` new people registered for ``m`` (not made members: bulk, for load tests)."""
    users = [User(name=f"P{i}", email=f"p{i}@bulk.test") for i in range(count)]
    db.session.add_all(users)
    db.session.flush()
    regs = [Registration(meeting_id=m.id, user_id=u.id, pass_token=new_pass_token()) for u in users]
    db.session.add_all(regs)
    db.session.commit()
    return regs


def api_token(u: User, now: datetime | None = None) -> str:
    """A new API token for ``u``, committed (services flush; the caller commits)."""
    from eventtrack.services import accounts

    token = accounts.new_api_token(u, now or datetime.now(UTC))
    db.session.commit()
    return token


def forged(token: str) -> str:
    """The token with its second-last character changed: a forged signature or a made-up token.

    Not the last character: a signature's last base64 character may carry padding bits, so
    another last character can decode to the same bytes; and a fixed replacement ("xx") can
    equal the original by chance, which made tests fail once in a few thousand runs.
    """
    other = "A" if token[-2] != "A" else "B"
    return token[:-2] + other + token[-1]
