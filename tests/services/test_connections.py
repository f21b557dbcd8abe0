"""Who met whom, without HTTP: the privacy rules of issue #4, one test (or more) each."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import Connection
from eventtrack.models.connect import ConnectCode
from eventtrack.services import connections
from eventtrack.services.errors import DomainError, NotFound
from eventtrack.transaction import atomic


@pytest.fixture
def event(make, now):
    """A meeting happening now with Ada and Grace checked in."""
    group = make.group()
    meeting = make.meeting(group, starts_in=timedelta(minutes=-30), now=now)
    ada = make.member(group, name="Ada Lovelace", email="ada@example.com", phone="+49 1")
    grace = make.member(group, name="Grace Hopper", email="grace@example.com", phone="+49 2")
    ada_reg = make.registration(meeting, ada, checked_in_at=now)
    grace_reg = make.registration(meeting, grace, checked_in_at=now)
    return meeting, ada, grace, ada_reg, grace_reg


def _count():
    return db.session.scalar(select(func.count()).select_from(Connection))


def test_connect_code_is_separate_from_the_pass_and_long(event, now):
    _, _, _, ada_reg, _ = event
    code = connections.code_for(ada_reg, now)
    assert len(code.token) >= 22  # 18 random bytes: 144 bits
    assert code.token != ada_reg.pass_token
    assert connections.code_for(ada_reg, now).token == code.token  # stable once created
    assert connections.resolve_code(code.token).id == ada_reg.id


def test_no_connect_code_before_check_in(make, now):
    group = make.group()
    reg = make.registration(make.meeting(group, now=now))
    with pytest.raises(DomainError) as exc:
        connections.code_for(reg, now)
    assert exc.value.code == "not_checked_in"
    assert db.session.scalar(select(func.count()).select_from(ConnectCode)) == 0


def test_a_pass_token_is_not_a_connect_code(event, now):
    _, _, _, ada_reg, _ = event
    connections.code_for(ada_reg, now)
    with pytest.raises(DomainError) as exc:
        connections.resolve_code(ada_reg.pass_token)
    assert exc.value.code == "unknown_code"


@pytest.mark.parametrize("token", ["", "abc", "x" * 23 + "!", "../../etc/passwd", "a" * 200])
def test_malformed_code_is_refused_and_records_nothing(event, now, token):
    _, ada, _, _, _ = event
    with pytest.raises(DomainError) as exc:
        connections.record_scan(token, ada, "hi", now)
    assert exc.value.code == "malformed_code"
    assert "not an eventtrack connect code" in exc.value.message
    assert _count() == 0


def test_scan_records_one_symmetric_connection_whoever_scans_first(event, now):
    meeting, ada, grace, ada_reg, grace_reg = event
    ada_code = connections.code_for(ada_reg, now).token
    grace_code = connections.code_for(grace_reg, now).token
    conn, created, other = connections.record_scan(ada_code, grace, "", now)
    assert created and other.id == ada.id and conn.how == "scan"
    again, created_again, _ = connections.record_scan(grace_code, ada, "", now)
    assert not created_again and again.id == conn.id
    assert _count() == 1
    assert (conn.user_a_id, conn.user_b_id) == tuple(sorted((ada.id, grace.id)))
    assert [m.person.id for m in connections.met_at(meeting, ada)] == [grace.id]
    assert [m.person.id for m in connections.met_at(meeting, grace)] == [ada.id]


def test_the_database_refuses_a_second_row_for_the_same_pair(event, now):
    meeting, ada, grace, _, _ = event
    a, b = sorted((ada.id, grace.id))
    db.session.add(Connection(meeting_id=meeting.id, user_a_id=a, user_b_id=b, how="scan"))
    db.session.commit()
    db.session.add(Connection(meeting_id=meeting.id, user_a_id=a, user_b_id=b, how="list"))
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.commit()
    db.session.rollback()


def test_rescan_updates_only_the_scanners_own_note(event, now):
    meeting, ada, grace, ada_reg, grace_reg = event
    ada_code = connections.code_for(ada_reg, now).token
    grace_code = connections.code_for(grace_reg, now).token
    connections.record_scan(ada_code, grace, "Grace's first note", now)
    connections.record_scan(grace_code, ada, "Ada's note", now)
    connections.record_scan(ada_code, grace, "Grace's second note", now)
    connections.record_scan(ada_code, grace, "", now)  # an empty note erases nothing
    (grace_view,) = connections.met_at(meeting, grace)
    (ada_view,) = connections.met_at(meeting, ada)
    assert grace_view.my_note == "Grace's second note"
    assert ada_view.my_note == "Ada's note"


def test_a_note_is_visible_only_to_its_author(event, now):
    meeting, ada, grace, ada_reg, _ = event
    code = connections.code_for(ada_reg, now).token
    conn, _, _ = connections.record_scan(code, grace, "send her the article", now)
    (ada_view,) = connections.met_at(meeting, ada)
    assert ada_view.my_note == ""
    assert "send her the article" not in repr(connections.pairs(meeting))
    assert "send her the article" not in repr(connections.summary(meeting))
    assert "send her the article" not in repr(connections.pair_of(conn))


def test_only_the_author_can_edit_a_note_and_outsiders_cannot_touch_it(event, make, now):
    meeting, ada, grace, ada_reg, _ = event
    conn, _, _ = connections.record_scan(connections.code_for(ada_reg, now).token, grace, "x", now)
    connections.set_note(conn.id, ada, "Ada's own")
    stranger = make.member(meeting.group)
    with pytest.raises(NotFound):
        connections.set_note(conn.id, stranger, "mine now")
    views = {m.my_note for m in connections.met_at(meeting, ada)}
    views |= {m.my_note for m in connections.met_at(meeting, grace)}
    assert views == {"Ada's own", "x"}
    connections.set_note(conn.id, grace, "")  # the author may clear her own note
    assert connections.met_at(meeting, grace)[0].my_note == ""
    assert connections.met_at(meeting, ada)[0].my_note == "Ada's own"


def test_note_longer_than_the_limit_is_refused_and_nothing_recorded(event, now):
    _, _, grace, ada_reg, _ = event
    code = connections.code_for(ada_reg, now).token
    with pytest.raises(DomainError) as exc:
        connections.record_scan(code, grace, "x" * (connections.MAX_NOTE + 1), now)
    assert exc.value.field == "note"
    assert _count() == 0


def test_scanning_your_own_code_records_nothing(event, now):
    _, ada, _, ada_reg, _ = event
    code = connections.code_for(ada_reg, now).token
    with pytest.raises(DomainError) as exc:
        connections.record_scan(code, ada, "me", now)
    assert exc.value.code == "own_code"
    assert "your own code" in exc.value.message
    assert _count() == 0


def test_code_of_another_meeting_records_nothing_and_says_where_you_are(event, make, now):
    meeting, ada, _, _, _ = event
    elsewhere = make.meeting(
        meeting.group, title="Other evening", starts_in=timedelta(minutes=-10), now=now
    )
    linus = make.member(meeting.group, name="Linus")
    linus_reg = make.registration(elsewhere, linus, checked_in_at=now)
    code = connections.code_for(linus_reg, now).token
    with pytest.raises(DomainError) as exc:
        connections.record_scan(code, ada, "", now)
    assert exc.value.code == "not_this_meeting"
    assert "Other evening" in exc.value.message and meeting.title in exc.value.message
    assert _count() == 0


def test_both_must_be_checked_in(event, make, now):
    meeting, ada, grace, ada_reg, _ = event
    late = make.member(meeting.group, name="Late Larry")
    make.registration(meeting, late)  # registered, not checked in
    code = connections.code_for(ada_reg, now).token
    with pytest.raises(DomainError) as exc:
        connections.record_scan(code, late, "", now)
    assert exc.value.code == "not_checked_in"
    with pytest.raises(DomainError) as exc:
        connections.record_connection(meeting, ada, late, "list", "", now)
    # No name: the asker may not know who holds that id (issue #11, finding 4).
    assert exc.value.code == "other_not_checked_in" and "Late Larry" not in exc.value.message
    assert _count() == 0


def test_cancelled_registration_cannot_connect_even_if_it_was_checked_in(event, make, now):
    meeting, ada, _, _, _ = event
    gone = make.member(meeting.group)
    make.registration(meeting, gone, status="cancelled", checked_in_at=now)
    with pytest.raises(DomainError):
        connections.record_connection(meeting, ada, gone, "list", "", now)
    assert _count() == 0


def test_either_side_can_delete_the_connection_for_both(event, now):
    meeting, ada, grace, ada_reg, _ = event
    code = connections.code_for(ada_reg, now).token
    conn, _, _ = connections.record_scan(code, grace, "oops", now)
    assert connections.delete_connection(conn.id, ada) == meeting.id  # not the one who scanned
    assert connections.met_at(meeting, ada) == [] and connections.met_at(meeting, grace) == []
    conn, _, _ = connections.record_scan(code, grace, "", now)
    connections.delete_connection(conn.id, grace)
    assert _count() == 0


def test_an_outsider_cannot_delete_a_connection(event, make, now):
    meeting, ada, grace, _, _ = event
    conn, _ = connections.record_connection(meeting, ada, grace, "list", "", now)
    with pytest.raises(NotFound):
        connections.delete_connection(conn.id, make.member(meeting.group))
    assert _count() == 1


def test_contact_details_need_a_connection_and_consent_read_at_once(event, now):
    meeting, ada, grace, _, _ = event
    grace.share_contact = True
    db.session.commit()
    assert connections.contact_of(grace, ada) is None  # consent but no connection
    connections.record_connection(meeting, ada, grace, "list", "", now)
    assert connections.contact_of(grace, ada) == connections.Contact("grace@example.com", "+49 2")
    assert connections.met_at(meeting, ada)[0].contact.email == "grace@example.com"
    assert connections.contact_of(ada, grace) is None  # Ada never consented
    assert connections.met_at(meeting, grace)[0].contact is None
    grace.share_contact = False  # withdrawn: hidden on the very next read
    db.session.commit()
    assert connections.contact_of(grace, ada) is None
    assert connections.met_at(meeting, ada)[0].contact is None


def test_people_here_lists_checked_in_people_searchably_and_marks_met(event, make, now):
    meeting, ada, grace, _, _ = event
    make.registration(meeting, make.member(meeting.group, name="Not Here Yet"))
    alan = make.member(meeting.group, name="Alan Turing", company="Bletchley Park")
    make.registration(meeting, alan, checked_in_at=now)
    connections.record_connection(meeting, ada, grace, "list", "", now)
    here = connections.people_here(meeting, ada)
    assert [(h.person.name, h.met) for h in here] == [
        ("Alan Turing", False),
        ("Grace Hopper", True),
    ]
    assert [h.person.name for h in connections.people_here(meeting, ada, "bletch")] == [
        "Alan Turing"
    ]
    assert connections.people_here(meeting, ada, "100%_") == []  # wildcards are literal


def test_people_here_is_only_for_people_who_are_here(event, make, now):
    meeting, _, _, _, _ = event
    outsider = make.member(meeting.group)
    make.registration(meeting, outsider)
    with pytest.raises(DomainError) as exc:
        connections.people_here(meeting, outsider)
    assert exc.value.code == "not_checked_in"


def test_newcomers_are_those_at_their_first_checked_in_meeting_of_the_group(event, make, now):
    meeting, ada, grace, _, _ = event
    earlier = make.meeting(meeting.group, starts_in=timedelta(days=-30), now=now)
    make.registration(earlier, ada, checked_in_at=now - timedelta(days=30))
    make.registration(earlier, grace)  # registered last time but never came
    assert connections.newcomer_ids(meeting) == {grace.id}


def test_organiser_rounds_connect_every_pair_at_a_table_all_or_nothing(event, make, now):
    meeting, ada, grace, _, _ = event
    alan = make.member(meeting.group, name="Alan Turing", email="alan@example.com")
    make.registration(meeting, alan, checked_in_at=now)
    organiser = meeting.group.memberships[0].user
    text = (
        "round,table,name\n"
        "1,A,Ada Lovelace\n1,A,grace@example.com\n1,A,alan turing\n"
        "2,A,Ada Lovelace\n2,B,Grace Hopper\n"
    )
    result = connections.import_rounds(meeting, organiser, text, now)
    assert result.errors == []
    assert (result.created, result.existing, result.tables) == (3, 0, 3)
    hows = db.session.scalars(select(Connection.how)).all()
    assert hows == ["organiser_round"] * 3
    again = connections.import_rounds(meeting, organiser, text, now)
    assert (again.created, again.existing) == (0, 3)
    assert _count() == 3


def test_organiser_rounds_report_every_bad_line_and_record_nothing(event, make, now):
    meeting, _, _, _, _ = event
    make.registration(meeting, make.member(meeting.group, name="Not Here"))
    make.member(meeting.group, name="Twin", email="twin1@example.com")
    for n in (1, 2):
        twin = make.member(meeting.group, name="Same Name", email=f"same{n}@example.com")
        make.registration(meeting, twin, checked_in_at=now)
    organiser = meeting.group.memberships[0].user
    text = (
        "1,A,Ada Lovelace\n"
        "1,A,Nobody Known\n"
        "1,A,Not Here\n"
        "1,A,Same Name\n"
        "1,B,Ada Lovelace\n"
        "1,A\n"
        "1,A,ghost@example.com\n"
        "1,A,Grace Hopper\n"
    )
    result = connections.import_rounds(meeting, organiser, text, now)
    assert result.errors == [
        "Line 2: nobody called 'Nobody Known' is registered for this meeting.",
        "Line 3: Not Here is not checked in.",
        "Line 4: 2 people are called 'Same Name'; use their email.",
        "Line 5: Ada Lovelace is already at table A in round 1.",
        "Line 6: expected round,table,name (or email).",
        "Line 7: nobody with the email ghost@example.com is registered for this meeting.",
    ]
    assert _count() == 0


def test_empty_rounds_list_is_an_error(event):
    meeting = event[0]
    organiser = meeting.group.memberships[0].user
    result = connections.import_rounds(meeting, organiser, "round,table,name\n\n", None)
    assert result.errors == ["No rows of round,table,name found."]


def test_organiser_pair_by_registration_ids_is_idempotent(event, make, now):
    meeting, ada, grace, ada_reg, grace_reg = event
    organiser = meeting.group.memberships[0].user
    conn, created = connections.record_by_organiser(
        meeting, organiser, ada_reg.id, grace_reg.id, now
    )
    assert created and conn.how == "organiser_round" and conn.created_by_id == organiser.id
    _, created = connections.record_by_organiser(meeting, organiser, grace_reg.id, ada_reg.id, now)
    assert not created and _count() == 1
    other = make.registration(make.meeting(meeting.group, now=now), ada, checked_in_at=now)
    with pytest.raises(DomainError) as exc:
        connections.record_by_organiser(meeting, organiser, other.id, grace_reg.id, now)
    assert exc.value.code == "not_this_meeting" and exc.value.field == "a"


def test_summary_counts_per_attendee_and_lonely_newcomers(event, make, now):
    meeting, ada, grace, _, _ = event
    alan = make.member(meeting.group, name="Alan Turing")
    make.registration(meeting, alan, checked_in_at=now)
    earlier = make.meeting(meeting.group, starts_in=timedelta(days=-30), now=now)
    make.registration(earlier, ada, checked_in_at=now - timedelta(days=30))
    make.registration(earlier, grace, checked_in_at=now - timedelta(days=30))
    connections.record_connection(meeting, ada, grace, "list", "private!", now)
    summary = connections.summary(meeting)
    assert summary.total == 1 and summary.by_how["list"] == 1
    assert [(c.person.name, c.connections, c.newcomer) for c in summary.attendees] == [
        ("Ada Lovelace", 1, False),
        ("Grace Hopper", 1, False),
        ("Alan Turing", 0, True),
    ]
    assert [u.name for u in summary.newcomers_without_connection] == ["Alan Turing"]


def test_simultaneous_scans_from_both_sides_make_one_row_with_both_notes(app, event, now):
    """Both phones tap "We met" at once: the unique key decides, nothing is lost."""
    import threading

    meeting, ada, grace, _, _ = event
    ids = {"meeting": meeting.id, "ada": ada.id, "grace": grace.id}
    barrier, errors = threading.Barrier(2), []

    def scan(me_key, other_key, note):
        with app.app_context():
            try:
                m = db.session.get(type(meeting), ids["meeting"])
                me = db.session.get(type(ada), ids[me_key])
                other = db.session.get(type(ada), ids[other_key])
                barrier.wait(5)
                with atomic():
                    connections.record_connection(m, me, other, "scan", note, now)
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=scan, args=("ada", "grace", "Ada's")),
        threading.Thread(target=scan, args=("grace", "ada", "Grace's")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    db.session.expire_all()
    assert _count() == 1
    assert connections.met_at(meeting, ada)[0].my_note == "Ada's"
    assert connections.met_at(meeting, grace)[0].my_note == "Grace's"


def test_a_newcomer_is_new_at_their_first_meeting_attended_and_not_after(event, make, now):
    meeting, ada, _, _, _ = event
    later = make.meeting(meeting.group, starts_in=timedelta(days=30), now=now)
    make.registration(later, ada, checked_in_at=now + timedelta(days=30))
    # The door and the connections page agree: "first meeting of the group attended".
    assert ada.id in connections.newcomer_ids(meeting)
    assert ada.id not in connections.newcomer_ids(later)
