"""Kiosk and poster codes: signed, short-lived (kiosk) or window-bound (poster)."""

from datetime import timedelta

import pytest

from eventtrack.services import kiosk
from eventtrack.services.kiosk import CodeRejected
from tests.factories import forged


@pytest.fixture
def meeting(make, now):
    return make.meeting(make.group(), starts_in=timedelta(minutes=20), now=now)


def rejected(code, now) -> str:
    with pytest.raises(CodeRejected) as exc:
        kiosk.verify(code, now)
    return exc.value.code


def test_fresh_kiosk_code_grants_kiosk_check_in(meeting, now):
    grant = kiosk.verify(kiosk.kiosk_code(meeting, now), now)

    assert (grant.meeting.id, grant.how) == (meeting.id, "kiosk")


def test_kiosk_code_rotates_every_thirty_seconds(meeting, now):
    start = now.replace(second=0)
    assert kiosk.kiosk_code(meeting, start) == kiosk.kiosk_code(
        meeting, start + timedelta(seconds=29)
    )
    assert kiosk.kiosk_code(meeting, start) != kiosk.kiosk_code(
        meeting, start + timedelta(seconds=30)
    )


def test_kiosk_code_works_for_at_most_a_minute(meeting, now):
    start = now.replace(second=0)
    code = kiosk.kiosk_code(meeting, start)

    assert kiosk.verify(code, start + timedelta(seconds=59)).how == "kiosk"
    assert rejected(code, start + timedelta(seconds=60)) == "expired"
    assert rejected(code, start + timedelta(hours=1)) == "expired"


def test_kiosk_code_from_the_future_is_refused(meeting, now):
    code = kiosk.kiosk_code(meeting, now + timedelta(minutes=5))
    assert rejected(code, now) == "expired"


def test_expired_code_has_its_own_http_status(meeting, now):
    code = kiosk.kiosk_code(meeting, now - timedelta(minutes=2))
    with pytest.raises(CodeRejected) as exc:
        kiosk.verify(code, now)
    assert (exc.value.code, exc.value.status) == ("expired", 410)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c[:-3],  # truncated signature
        forged,
        lambda c: "9999" + c[c.index(".") :],  # another meeting id, same signature
        lambda c: c.split(".")[0] + "." + str(int(c.split(".")[1]) + 1) + "." + c.split(".")[2],
        lambda c: "",
        lambda c: "not.a.code",
        lambda c: "1.p." + "A" * 22,
    ],
    ids=["truncated", "forged-mac", "other-meeting", "moved-step", "empty", "junk", "fake-poster"],
)
def test_forged_kiosk_code_is_invalid(meeting, now, tamper):
    assert rejected(tamper(kiosk.kiosk_code(meeting, now)), now) == "invalid"


def test_code_signed_with_another_secret_is_invalid(app, meeting, now):
    code = kiosk.kiosk_code(meeting, now)
    app.config["SECRET_KEY"] = "another-secret"
    assert rejected(code, now) == "invalid"


def test_poster_code_is_valid_only_inside_the_check_in_window(meeting, now):
    code = kiosk.poster_code(meeting)

    assert kiosk.verify(code, meeting.checkin_opens_at).how == "poster"
    assert kiosk.verify(code, meeting.checkin_closes_at).how == "poster"
    assert rejected(code, meeting.checkin_opens_at - timedelta(seconds=1)) == "not_open"
    assert rejected(code, meeting.checkin_closes_at + timedelta(seconds=1)) == "not_open"


def test_poster_code_of_one_meeting_does_not_open_another(make, meeting, now):
    other = make.meeting(meeting.group, starts_in=timedelta(minutes=20), now=now)
    code = kiosk.poster_code(meeting)
    forged = f"{other.id}{code[code.index('.') :]}"

    assert kiosk.verify(code, now).meeting.id == meeting.id
    assert rejected(forged, now) == "invalid"


def test_ticket_carries_the_grant_past_the_code_rotation(meeting, now):
    grant = kiosk.verify(kiosk.kiosk_code(meeting, now), now)

    carried = kiosk.verify_ticket(kiosk.ticket_for(grant))

    assert (carried.meeting.id, carried.how) == (meeting.id, "kiosk")


def test_forged_ticket_is_invalid(meeting, now):
    ticket = kiosk.ticket_for(kiosk.verify(kiosk.poster_code(meeting), now))
    with pytest.raises(CodeRejected) as exc:
        kiosk.verify_ticket(forged(ticket))
    assert exc.value.code == "invalid"


def test_a_poster_code_outside_the_window_names_its_meeting(meeting):
    """The door page says when check-in opens (web.door), so the refusal carries the meeting."""
    with pytest.raises(CodeRejected) as exc:
        kiosk.verify(kiosk.poster_code(meeting), meeting.checkin_opens_at - timedelta(minutes=5))

    assert (exc.value.code, exc.value.status, exc.value.meeting) == ("not_open", 409, meeting)


def test_a_forged_code_names_no_meeting(meeting, now):
    with pytest.raises(CodeRejected) as exc:
        kiosk.verify(forged(kiosk.kiosk_code(meeting, now)), now)

    assert (exc.value.code, exc.value.meeting) == ("invalid", None)
