"""A hand-built group whose insights are known (issue #14), shared by the service and the API
tests. Every figure the tests expect is worked out in the comments below.

Group "Circle" (organiser Olivia), weekly meetings M1..M6 (M1 six weeks ago, M6 one week ago),
a cancelled meeting between M4 and M5 and a future meeting M7 — neither is "held".

Present (checked in):
- M1: Dan, Rita, Yves, Fay          (all four first-timers; Fay has left the group since)
- M2: Dan, Rita, Yves, Fay
- M3: Dan, Rita, Xena, Fay          (Xena's first and only meeting)
- M4: Rita, Yves
- M5: Rita, Ann, Carl, Adam         (Ann, Carl, Adam first-timers)
- M6: Rita, Ann, Carl, Adam (returning); Ben, Bea, Nina, Walt (first-timers; Walt a walk-in)
  registered and absent at M6: Sam and Dan (no-shows); Cleo cancelled; Lou on the waitlist.

Drifting: Dan (present M1–M3, absent M4–M6; registered at M6 but absent). Not Yves (M4),
not Fay (no longer a member), not Xena (once).

Connections: M1 Dan–Rita; M3 Xena–Rita; M5 Rita–Ann, Rita–Carl;
M6 Rita–Ann, Rita–Ben, Rita–Walt, Rita–Carl, Ann–Ben, Ann–Bea, Ben–Bea.
Per attendee at M6: Rita 4, Ann 3, Ben 3, Bea 2, Walt 1, Carl 1, Nina 0, Adam 0 → median 1.5.
New at M6 (no connection at an earlier meeting): Rita, Ann, Ben, Bea, Walt — not Carl (only
Rita, met at M5), Nina, Adam → 5 / 8.

Rita also attends meeting K of group "Other" (3 days ago; she meets Ben there again) and
meeting Q of group "Elsewhere" that she does not belong to (not in her record).
"""

from dataclasses import dataclass, field
from datetime import timedelta

from eventtrack.extensions import db
from eventtrack.models import (
    Connection,
    Group,
    Meeting,
    Membership,
    OutboxMessage,
    Registration,
    User,
)
from eventtrack.models.followup import FollowUp, Goal
from eventtrack.services.registrations import new_pass_token

from . import factories

WEEK = timedelta(days=7)


@dataclass
class Scenario:
    organiser: User
    group: Group
    held: list[Meeting]  # M1..M6
    cancelled: Meeting
    future: Meeting
    other: Meeting  # K, in another group Rita belongs to
    elsewhere: Meeting  # Q, a group Rita does not belong to
    people: dict[str, User] = field(default_factory=dict)

    @property
    def m6(self) -> Meeting:
        return self.held[-1]

    def __getattr__(self, name):
        try:
            return self.__dict__["people"][name]
        except KeyError:
            raise AttributeError(name) from None


def _register(meeting, user, status="going", **kwargs):
    db.session.add(
        Registration(
            meeting_id=meeting.id,
            user_id=user.id,
            status=status,
            pass_token=new_pass_token(),
            **kwargs,
        )
    )


def _check_in(meeting, user, after=timedelta(minutes=5), how="pass_scan"):
    _register(meeting, user, checked_in_at=meeting.starts_at + after, checkin_how=how)


def _meeting(group, now, starts_in, title, status="scheduled"):
    """A meeting of 2 hours (added, not committed: the scenario commits once)."""
    start = now.replace(microsecond=0) + starts_in
    meeting = Meeting(
        group_id=group.id,
        title=title,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        timezone="Europe/Berlin",
        checkin_opens_at=start - timedelta(hours=1),
        checkin_closes_at=start + timedelta(hours=2),
        status=status,
    )
    db.session.add(meeting)
    return meeting


def _meet(meeting, x, y):
    a, b = sorted((x.id, y.id))
    db.session.add(Connection(meeting_id=meeting.id, user_a_id=a, user_b_id=b, how="scan"))


def _mail(meeting, user, status, kind="followup"):
    n = db.session.query(OutboxMessage).count()
    db.session.add(
        OutboxMessage(
            kind=kind,
            dedup_key=f"{kind}:{meeting.id}:{user.id}:{n}",
            recipient=user.email,
            user_id=user.id,
            meeting_id=meeting.id,
            message_id=f"<m{n}.{meeting.id}@insights.test>",
            subject="Your follow-ups",
            body_text="…",
            status=status,
            last_error="550 no such user" if status == "failed" else "",
        )
    )


def build(now) -> Scenario:
    """The scenario above, committed. ``now``: M6 started a week before it."""
    organiser = factories.organiser(email="olivia@insights.test", name="Olivia")
    group = factories.group(organiser, name="Circle")
    held = [_meeting(group, now, -(7 - i) * WEEK, f"M{i}") for i in range(1, 7)]
    cancelled = _meeting(group, now, -(2 * WEEK + timedelta(days=3)), "Off", "cancelled")
    future = _meeting(group, now, WEEK, "M7")
    p = {
        name: User(name=name, email=f"{name.lower()}@insights.test")
        for name in (
            [
                "Dan",
                "Rita",
                "Yves",
                "Fay",
                "Xena",
                "Ann",
                "Carl",
                "Adam",
                "Ben",
                "Bea",
                "Nina",
                "Walt",
                "Sam",
                "Cleo",
                "Lou",
            ]
        )
    }
    db.session.add_all(p.values())
    db.session.flush()
    # Members as an organiser adds them (Fay has left the group since).
    db.session.add_all(
        Membership(group_id=group.id, user_id=u.id, role="member", typed_name=u.name)
        for name, u in p.items()
        if name != "Fay"
    )
    m1, m2, m3, m4, m5, m6 = held
    for m, names in (
        (m1, "Dan Rita Yves Fay"),
        (m2, "Dan Rita Yves Fay"),
        (m3, "Dan Rita Xena Fay"),
        (m4, "Rita Yves"),
        (m5, "Rita Ann Carl Adam"),
    ):
        for name in names.split():
            _check_in(m, p[name])
    # M6: arrivals at known minutes from the start.
    arrivals = {
        "Rita": -timedelta(minutes=5),  # bucket -10
        "Adam": -timedelta(seconds=1),  # bucket -10
        "Ann": timedelta(0),  # bucket 0
        "Ben": timedelta(minutes=9, seconds=59),  # bucket 0
        "Bea": timedelta(minutes=3),  # bucket 0
        "Carl": timedelta(minutes=12),  # bucket 10
        "Nina": timedelta(minutes=25),  # bucket 20
    }
    for name, after in arrivals.items():
        _check_in(m6, p[name], after)
    _check_in(m6, p["Walt"], timedelta(minutes=41), how="walk_in")  # bucket 40; 30 is empty
    _register(m6, p["Sam"])
    _register(m6, p["Dan"])
    _register(m6, p["Cleo"], status="cancelled")
    _register(m6, p["Lou"], status="waitlist")
    # The future and the cancelled meeting: registrations that must not count anywhere.
    _register(future, p["Dan"])
    _register(future, p["Rita"])
    _register(cancelled, p["Rita"])

    for m, x, y in (
        (m1, "Dan", "Rita"),
        (m3, "Xena", "Rita"),
        (m5, "Rita", "Ann"),
        (m5, "Rita", "Carl"),
        (m6, "Rita", "Ann"),
        (m6, "Rita", "Ben"),
        (m6, "Rita", "Walt"),
        (m6, "Rita", "Carl"),
        (m6, "Ann", "Ben"),
        (m6, "Ann", "Bea"),
        (m6, "Ben", "Bea"),
    ):
        _meet(m, p[x], p[y])

    # Follow-up emails of M6: 2 sent, 1 failed, 1 pending; a pass mail that is no follow-up.
    for name, status in (("Rita", "sent"), ("Ann", "sent"), ("Ben", "failed"), ("Bea", "pending")):
        _mail(m6, p[name], status)
    _mail(m6, p["Nina"], "sent", kind="pass")
    # Follow-ups: at M6 Rita→Ann done, Rita→Walt done with a promise, Rita→Ben promised,
    # Ann→Rita done (3 done at M6); at M5 Rita→Carl done.
    done_at = m6.ends_at + timedelta(days=1)
    for m, owner, other, state, promise in (
        (m6, "Rita", "Ann", "done", ""),
        (m6, "Rita", "Walt", "done", "Send the deck"),
        (m6, "Rita", "Ben", "todo", "Coffee on Friday"),
        (m6, "Ann", "Rita", "done", ""),
        (m5, "Rita", "Carl", "done", ""),
    ):
        db.session.add(
            FollowUp(
                meeting_id=m.id,
                owner_id=p[owner].id,
                other_id=p[other].id,
                state=state,
                done_at=done_at if state == "done" else None,
                promise=promise,
            )
        )
    # Goals: at M6 Rita (not answered yet), Ann (not yet), Ben (done); at M5 Rita (done).
    for m, name, text, outcome in (
        (m6, "Rita", "Ship the beta", None),
        (m6, "Ann", "Hire a designer", "not_yet"),
        (m6, "Ben", "Find a mentor", "done"),
        (m5, "Rita", "Find a co-founder", "done"),
    ):
        db.session.add(
            Goal(
                meeting_id=m.id,
                user_id=p[name].id,
                text=text,
                outcome=outcome,
                answered_at=now if outcome else None,
            )
        )

    # Rita elsewhere: group "Other" (a member; meets Ben again) and "Elsewhere" (not a member).
    other_group = factories.group(factories.organiser(), name="Other")
    db.session.add(Membership(group_id=other_group.id, user_id=p["Rita"].id, role="member"))
    db.session.add(Membership(group_id=other_group.id, user_id=p["Ben"].id, role="member"))
    other = _meeting(other_group, now, -timedelta(days=3), "K")
    db.session.flush()
    _check_in(other, p["Rita"])
    _check_in(other, p["Ben"])
    _meet(other, p["Rita"], p["Ben"])
    elsewhere_group = factories.group(factories.organiser(), name="Elsewhere")
    elsewhere = _meeting(elsewhere_group, now, -timedelta(days=2), "Q")
    db.session.flush()
    _check_in(elsewhere, p["Rita"])
    db.session.commit()
    return Scenario(organiser, group, held, cancelled, future, other, elsewhere, p)
