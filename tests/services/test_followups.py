from datetime import timedelta
from email import message_from_string

import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import Membership, OutboxMessage, Registration
from eventtrack.models.followup import FollowUp
from eventtrack.services import followup_mail, followups
from eventtrack.services.errors import DomainError, Invalid, NotFound

from ..followup_scenarios import attend, meet, past_meeting


@pytest.fixture
def group(make):
    return make.group()


@pytest.fixture
def meeting(group, now):
    return past_meeting(group, now)


def names(items):
    return [i.name for i in items]


def test_list_holds_exactly_the_people_i_met_with_my_own_notes(meeting, make):
    me = attend(meeting, name="Me Myself")
    ada = attend(meeting, name="Ada Lovelace", headline="Engineer", company="Engines Ltd")
    bob = attend(meeting, name="Bob Builder")
    carol = attend(meeting, name="Carol Stranger")
    meet(meeting, me, ada, note_x="talk about compilers", note_y="ADA'S PRIVATE NOTE")
    meet(meeting, bob, me, note_x="BOB'S PRIVATE NOTE", note_y="owes me a coffee")
    meet(meeting, ada, carol)

    lst = followups.followup_list(meeting, me)

    assert names(lst.people) == ["Ada Lovelace", "Bob Builder"]
    assert [p.note for p in lst.people] == ["talk about compilers", "owes me a coffee"]
    assert lst.people[0].headline == "Engineer" and lst.people[0].company == "Engines Ltd"
    assert carol.id not in {p.user_id for p in lst.people}


def test_contact_details_only_where_the_other_consented(meeting):
    me = attend(meeting)
    open_ = attend(meeting, name="Open Olga", share_contact=True, phone="+49 30 1234")
    closed = attend(meeting, name="Closed Carl", share_contact=False, phone="+49 30 9999")
    meet(meeting, me, open_)
    meet(meeting, me, closed)

    people = {p.name: p for p in followups.followup_list(meeting, me).people}

    assert people["Open Olga"].email == open_.email and people["Open Olga"].phone == "+49 30 1234"
    assert people["Closed Carl"].email is None and people["Closed Carl"].phone is None
    assert [p.name for p in followups.followup_list(meeting, me).shared] == ["Open Olga"]


def test_list_needs_a_registration_at_the_meeting(meeting, make):
    outsider = make.member(meeting.group)
    with pytest.raises(NotFound):
        followups.followup_list(meeting, outsider)


def test_done_is_dated_and_back_to_todo_clears_it(meeting, now):
    me, other = attend(meeting), attend(meeting)
    meet(meeting, me, other)

    followups.set_state(meeting, me, other.id, "done", now)
    (p,) = followups.followup_list(meeting, me).people
    assert (p.state, p.done_at) == ("done", now)
    assert not p.is_open(now.date())

    followups.set_state(meeting, me, other.id, "todo", now)
    (p,) = followups.followup_list(meeting, me).people
    assert (p.state, p.done_at, p.snoozed_until) == ("todo", None, None)
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 1


def test_snooze_needs_a_later_date_and_reopens_on_that_day(meeting, now):
    me, other = attend(meeting), attend(meeting)
    meet(meeting, me, other)
    today = followups.local_today(meeting, now)

    with pytest.raises(Invalid):
        followups.set_state(meeting, me, other.id, "snoozed", now, snoozed_until=today)
    with pytest.raises(Invalid):
        followups.set_state(meeting, me, other.id, "snoozed", now)

    followups.set_state(meeting, me, other.id, "snoozed", now, today + timedelta(days=3))
    (p,) = followups.followup_list(meeting, me).people
    assert p.state == "snoozed" and not p.is_open(today)
    assert p.is_open(today + timedelta(days=3))


def test_state_of_someone_i_did_not_meet_is_not_found(meeting, now):
    me, stranger = attend(meeting), attend(meeting)
    with pytest.raises(NotFound):
        followups.set_state(meeting, me, stranger.id, "done", now)
    meet(meeting, me, stranger)
    with pytest.raises(Invalid):
        followups.set_state(meeting, me, stranger.id, "forgotten", now)


def test_promise_with_due_date_is_kept_next_to_the_state(meeting, now):
    me, other = attend(meeting), attend(meeting)
    meet(meeting, me, other)
    due = followups.local_today(meeting, now) + timedelta(days=7)

    followups.set_state(meeting, me, other.id, "done", now)
    followups.set_promise(meeting, me, other.id, "  intro her\nto Sam ", due, now)

    (p,) = followups.followup_list(meeting, me).people
    assert (p.promise, p.promise_due, p.state) == ("intro her to Sam", due, "done")
    with pytest.raises(Invalid):
        followups.set_promise(meeting, me, other.id, "", due, now)
    with pytest.raises(Invalid):
        followups.set_promise(meeting, me, other.id, "x" * 301, None, now)


def test_the_other_side_does_not_see_my_state(meeting, now):
    me, other = attend(meeting), attend(meeting)
    meet(meeting, me, other)
    followups.set_state(meeting, me, other.id, "done", now)
    (theirs,) = followups.followup_list(meeting, other).people
    assert theirs.state == "todo"


# --- suggestions --------------------------------------------------------------------------


def test_suggestions_explain_why_in_the_words_of_the_shared_ranking(meeting, make):
    me = attend(meeting, asks="client leads", offers="UX design", interests="climate")
    attend(meeting, name="Grace Hopper", share_contact=True, offers="Client leads, mentoring")

    [suggestion] = followups.followup_list(meeting, me).suggestions

    assert suggestion.name == "Grace Hopper"
    assert suggestion.reasons == ["Grace offers client leads — you asked for that"]


def test_suggestions_are_consenting_attendees_i_did_not_meet_best_first(meeting, make):
    me = attend(meeting, asks="client leads", offers="UX design", interests="climate")
    best = attend(meeting, name="Best", share_contact=True, offers="client leads", asks="UX design")
    good = attend(meeting, name="Good", share_contact=True, offers="leads")
    weak = attend(meeting, name="Weak", share_contact=True, interests="climate")
    attend(meeting, name="Shy", share_contact=False, offers="client leads")
    met = attend(meeting, name="Already Met", share_contact=True, offers="client leads")
    attend(meeting, name="Absent", share_contact=True, offers="client leads", checked_in=False)
    attend(meeting, name="No Overlap", share_contact=True, offers="gardening")
    meet(meeting, me, met)

    lst = followups.followup_list(meeting, me)

    assert names(lst.suggestions) == ["Best", "Good", "Weak"]
    assert [s.user_id for s in lst.suggestions] == [best.id, good.id, weak.id]
    assert lst.suggestions[0].score > lst.suggestions[1].score > lst.suggestions[2].score


# --- out of sight -------------------------------------------------------------------------


def test_out_of_sight_is_people_met_before_but_not_in_the_last_three_meetings(group, now, make):
    day = timedelta(days=30)
    m1 = past_meeting(group, now, ago=5 * day, title="January")
    m2 = past_meeting(group, now, ago=4 * day, title="February")
    m3 = past_meeting(group, now, ago=3 * day, title="March")
    m4 = past_meeting(group, now, ago=2 * day, title="April")
    m5 = past_meeting(group, now, ago=timedelta(hours=5), title="May")
    me = make.member(group)
    faded, recent, left = (make.member(group, name=n) for n in ("Faded", "Recent", "Left"))
    older = make.member(group, name="Older")
    for m in (m1, m2, m3, m4, m5):
        attend(m, me)
    for m, other in ((m1, older), (m2, faded), (m1, recent), (m4, recent), (m2, left)):
        meet(m, me, other)
    # "Left" is no longer a member of the group: not listed.
    db.session.execute(
        Membership.__table__.delete().where(
            Membership.user_id == left.id, Membership.group_id == group.id
        )
    )
    db.session.commit()

    lst = followups.followup_list(m5, me)

    assert names(lst.out_of_sight) == ["Older", "Faded"]  # longest out of sight first
    assert lst.out_of_sight[1].last_meeting_title == "February"
    assert lst.out_of_sight[1].last_met == m2.starts_at
    # Seen from April, only January lies before the last three; Recent was met in April.
    assert names(followups.followup_list(m4, me).out_of_sight) == ["Older"]
    # Seen from March, nothing lies before the last three meetings.
    assert followups.followup_list(m3, me).out_of_sight == []


# --- goals --------------------------------------------------------------------------------


def test_goal_is_one_per_member_and_meeting_and_asked_back_next_time(group, now, make):
    first = past_meeting(group, now, ago=timedelta(days=30))
    second = make.meeting(group, starts_in=timedelta(days=1), now=now)
    me = attend(first)
    attend(second, me, checked_in=False)

    followups.set_goal(first, me, "find a co-founder", now)
    goal = followups.set_goal(first, me, "  two client\nleads ", now)
    assert goal.text == "two client leads"
    assert followups.goal_for(first, me).id == goal.id

    assert followups.goal_to_ask(second, me).id == goal.id
    assert followups.goal_to_ask(first, me) is None

    answered = followups.answer_goal(goal.id, me, "done", second, now)
    assert (answered.outcome, answered.answered_at_meeting_id) == ("done", second.id)
    assert followups.goal_to_ask(second, me) is None
    # The first answer counts.
    assert followups.answer_goal(goal.id, me, "dropped", second, now).outcome == "done"


def test_goal_is_answered_only_at_a_later_meeting_of_its_group_i_am_registered_for(
    group, now, make
):
    first = past_meeting(group, now, ago=timedelta(days=30))
    me = attend(first)
    goal = followups.set_goal(first, me, "two client leads", now)
    elsewhere = make.meeting(make.group(), now=now)
    not_registered = make.meeting(group, starts_in=timedelta(days=1), now=now)

    for at in (elsewhere, not_registered, first):
        with pytest.raises(NotFound):
            followups.answer_goal(goal.id, me, "done", at, now)
    assert goal.outcome is None


def test_goal_rules(group, now, make, meeting):
    me, other = attend(meeting), attend(meeting)
    with pytest.raises(Invalid):
        followups.set_goal(meeting, me, "   ", now)
    with pytest.raises(Invalid):
        followups.set_goal(meeting, me, "x" * 301, now)
    with pytest.raises(NotFound):
        followups.set_goal(meeting, make.member(group), "sneak in", now)
    goal = followups.set_goal(meeting, me, "mine", now)
    with pytest.raises(NotFound):
        followups.answer_goal(goal.id, other, "done", meeting, now)
    with pytest.raises(Invalid):
        followups.answer_goal(goal.id, me, "maybe", meeting, now)


# --- queueing follow-up emails ------------------------------------------------------------


def followup_rows():
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "followup")
            .order_by(OutboxMessage.recipient)
        )
    )


def test_queue_one_email_per_checked_in_attendee_who_wants_them(meeting, now):
    a, b = attend(meeting), attend(meeting)
    attend(meeting, followup_emails=False)
    attend(meeting, checked_in=False)

    assert followup_mail.queue_followups(meeting, now) == 2

    assert sorted(r.user_id for r in followup_rows()) == sorted([a.id, b.id])
    assert meeting.followups_queued_at == now


def test_queueing_twice_queues_nothing_new(meeting, now):
    attend(meeting), attend(meeting)
    assert followup_mail.queue_followups(meeting, now) == 2
    assert followup_mail.queue_followups(meeting, now + timedelta(minutes=5)) == 0
    assert len(followup_rows()) == 2
    assert meeting.followups_queued_at == now  # the first time stays


def test_late_check_in_is_queued_on_the_next_call_alone(meeting, now):
    attend(meeting)
    followup_mail.queue_followups(meeting, now)
    late = attend(meeting)
    assert followup_mail.queue_followups(meeting, now) == 1
    assert late.id in {r.user_id for r in followup_rows()}


def test_queue_waits_for_end_and_delay_unless_the_organiser_skips_the_delay(group, now):
    running = past_meeting(group, now, ago=timedelta(hours=1))  # ends in 1 h
    just_ended = past_meeting(group, now, ago=timedelta(hours=3))  # ended 1 h ago, delay 2 h
    attend(running), attend(just_ended)

    with pytest.raises(DomainError) as exc:
        followup_mail.queue_followups(running, now, ignore_delay=True)
    assert exc.value.code == "not_over"
    with pytest.raises(DomainError) as exc:
        followup_mail.queue_followups(just_ended, now)
    assert exc.value.code == "too_early"
    assert followup_mail.queue_followups(just_ended, now, ignore_delay=True) == 1


def test_cancelled_meeting_queues_nothing(meeting, now):
    attend(meeting)
    meeting.status = "cancelled"
    db.session.commit()
    with pytest.raises(DomainError) as exc:
        followup_mail.queue_followups(meeting, now)
    assert exc.value.code == "cancelled"


def test_due_meetings_are_those_ended_past_their_delay_and_not_queued_yet(group, now):
    due = past_meeting(group, now)  # ended 3 h ago, delay 2 h
    not_yet = past_meeting(group, now, delay=240)  # ended 3 h ago, delay 4 h
    running = past_meeting(group, now, ago=timedelta(hours=1))
    for m in (due, not_yet, running):
        attend(m)

    def queue_due(at):
        meetings = followup_mail.due_meetings(at)
        for meeting in meetings:
            followup_mail.queue_followups(meeting, at)
        return [m.id for m in meetings]

    assert queue_due(now) == [due.id]
    assert {r.meeting_id for r in followup_rows()} == {due.id}
    assert queue_due(now) == []
    assert queue_due(now + timedelta(hours=2)) == [not_yet.id]
    assert queue_due(now + timedelta(hours=3)) == [running.id]


def test_followup_email_holds_list_goal_links_unsubscribe_and_vcard(meeting, now):
    me = attend(meeting, name="Mia")
    shared = attend(meeting, name="Sharing Sam", share_contact=True, phone="+1 555 0100")
    private = attend(meeting, name="Private Pat", share_contact=False, phone="+1 555 0199")
    meet(meeting, me, shared, note_x="wants the deck")
    meet(meeting, me, private)
    followups.set_goal(meeting, me, "two client leads", now)

    followup_mail.queue_followups(meeting, now)
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.user_id == me.id))

    assert row.subject == f"Your follow-ups from {meeting.title}"
    for body in (row.body_text, row.body_html):
        assert "Sharing Sam" in body and "Private Pat" in body
        assert shared.email in body and "+1 555 0100" in body
        assert private.email not in body and "+1 555 0199" not in body
        assert "two client leads" in body and "wants the deck" in body
        # The list opens through Mia's own pass: her inbox is the only place it was sent.
        reg = db.session.scalar(
            select(Registration).where(
                Registration.meeting_id == meeting.id, Registration.user_id == me.id
            )
        )
        assert f"http://eventtrack.test/p/{reg.pass_token}/followups" in body
    assert row.headers["List-Unsubscribe"].startswith("<http://eventtrack.test/unsubscribe/")
    assert row.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    (att,) = row.attachments
    assert att["filename"] == "contacts.vcf" and att["content_type"] == "text/vcard"
    assert "Sharing Sam" in att["content"] and "Private Pat" not in att["content"]


def test_no_vcard_attached_when_nobody_shared(meeting, now):
    me, other = attend(meeting), attend(meeting, share_contact=False)
    meet(meeting, me, other)
    followup_mail.queue_followups(meeting, now)
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.user_id == me.id))
    assert row.attachments == []


def test_names_are_escaped_in_html_and_kept_one_line_in_headers(meeting, now):
    me = attend(meeting, name="Eve\r\nBcc: victim@example.com")
    evil = attend(meeting, name="<script>alert(1)</script>")
    meet(meeting, me, evil)
    followup_mail.queue_followups(meeting, now)
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.user_id == me.id))

    assert "<script>alert(1)</script>" not in row.body_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in row.body_html
    assert "\n" not in row.recipient_name and "\r" not in row.recipient_name
    assert message_from_string(row.body_text) is not None


# --- reminders ----------------------------------------------------------------------------


@pytest.fixture
def followed_up(group, now, make):
    """A meeting whose follow-ups went out 8 days ago, and the group's next meeting ahead."""
    last = past_meeting(group, now, ago=timedelta(days=8, hours=5))
    make.meeting(group, starts_in=timedelta(days=10), now=now, title="Next one")
    a, b, c = attend(last, name="Ann"), attend(last, name="Ben"), attend(last, name="Cem")
    meet(last, a, b)
    meet(last, a, c)
    followup_mail.queue_followups(last, now - timedelta(days=8))
    return last, a, b, c


def reminders():
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder")))


def test_reminder_counts_open_follow_ups_and_names_the_next_meeting(followed_up, now):
    last, a, b, c = followed_up
    followups.set_state(last, a, b.id, "done", now)

    assert followup_mail.queue_reminders(now) == 3
    mine = next(r for r in reminders() if r.user_id == a.id)
    assert mine.subject == "1 follow-up still open before Next one"
    assert "Cem" in mine.body_text and "Ben" not in mine.body_text
    assert "meets again on" in mine.body_text
    assert mine.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_reminder_is_sent_once_a_week(followed_up, now):
    assert followup_mail.queue_reminders(now) == 3
    assert followup_mail.queue_reminders(now + timedelta(days=2)) == 0
    assert followup_mail.queue_reminders(now + timedelta(days=7)) == 3
    assert len(reminders()) == 6


def test_no_reminder_without_open_follow_ups_consent_or_a_next_meeting(followed_up, now, group):
    last, a, b, c = followed_up
    followups.set_state(last, b, a.id, "done", now)
    c.followup_emails = False
    db.session.commit()
    assert followup_mail.queue_reminders(now) == 1  # only Ann
    assert followup_mail.queue_reminders(now - timedelta(days=3)) == 0  # not a week yet
    for m in group.meetings:
        if m.starts_at > now:
            m.status = "cancelled"
    db.session.commit()
    assert followup_mail.queue_reminders(now + timedelta(days=7)) == 0


# --- organiser counts ---------------------------------------------------------------------


def test_summary_has_counts_only(meeting, now):
    a, b = attend(meeting), attend(meeting, followup_emails=False)
    meet(meeting, a, b)
    followups.set_goal(meeting, a, "secret plan", now)
    followups.set_state(meeting, a, b.id, "done", now)
    followup_mail.queue_followups(meeting, now)

    s = followups.summary(meeting)

    assert (s.checked_in, s.opted_in, s.goals_set, s.followups_done) == (2, 1, 1, 1)
    assert s.emails == {"pending": 1, "sending": 0, "sent": 0, "failed": 0}
    assert s.goals_answered == {"done": 0, "not_yet": 0, "dropped": 0}
    assert "secret plan" not in repr(s)
