from datetime import timedelta

import pytest
import vobject
from flask import render_template_string
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import OutboxMessage
from eventtrack.services import followups
from eventtrack.transaction import atomic

from ..followup_scenarios import attend, meet, past_meeting


@pytest.fixture
def scene(make, now):
    organiser = make.organiser()
    group = make.group(organiser)
    meeting = past_meeting(group, now)
    me = attend(meeting, name="Mia Member")
    ada = attend(meeting, name="<b>Ada</b>", share_contact=True, phone="+1 555 0101")
    bo = attend(meeting, name="Bo Private", share_contact=False, phone="+1 555 0102")
    meet(meeting, me, ada, note_x="send the deck")
    meet(meeting, me, bo)
    return organiser, meeting, me, ada, bo


def test_list_needs_sign_in(client, scene):
    _, meeting, *_ = scene
    response = client.get(f"/f/{meeting.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_list_shows_people_notes_and_consented_contacts_escaped(client, auth, scene):
    _, meeting, me, ada, bo = scene
    auth.login_as(me)
    page = client.get(f"/f/{meeting.id}").get_data(as_text=True)
    assert "&lt;b&gt;Ada&lt;/b&gt;" in page and "<b>Ada</b>" not in page
    assert "send the deck" in page and "Bo Private" in page
    assert ada.email in page and "+1 555 0101" in page
    assert bo.email not in page and "+1 555 0102" not in page
    assert "2 of 2 still to do" in page
    assert f"/f/{meeting.id}/contacts.vcf" in page


def test_list_of_a_meeting_i_was_not_at_is_404(client, auth, scene, make):
    _, meeting, *_ = scene
    auth.login_as(make.member(meeting.group))
    assert client.get(f"/f/{meeting.id}").status_code == 404
    assert client.get("/f/99999").status_code == 404


def test_vcf_download_holds_consenting_contacts_only(client, auth, scene):
    _, meeting, me, ada, _ = scene
    auth.login_as(me)
    response = client.get(f"/f/{meeting.id}/contacts.vcf")
    assert response.mimetype == "text/vcard"
    assert "attachment" in response.headers["Content-Disposition"]
    cards = list(vobject.readComponents(response.get_data(as_text=True)))
    assert [c.fn.value for c in cards] == ["<b>Ada</b>"]


def test_done_snooze_and_promise_by_small_posts(client, auth, scene, now):
    _, meeting, me, ada, bo = scene
    auth.login_as(me)
    base = f"/f/{meeting.id}/people"
    r = client.post(f"{base}/{ada.id}/state", data={"state": "done"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"#person-{ada.id}")
    later = (followups.local_today(meeting, now) + timedelta(days=5)).isoformat()
    client.post(f"{base}/{bo.id}/state", data={"state": "snoozed", "snoozed_until": later})
    client.post(f"{base}/{bo.id}/promise", data={"promise": "intro to Sam", "promise_due": later})

    people = {p.user_id: p for p in followups.followup_list(meeting, me).people}
    assert people[ada.id].state == "done" and people[ada.id].done_at is not None
    assert people[bo.id].state == "snoozed" and people[bo.id].snoozed_until.isoformat() == later
    assert people[bo.id].promise == "intro to Sam"
    page = client.get(f"/f/{meeting.id}").get_data(as_text=True)
    assert "0 of 2 still to do" in page and "intro to Sam" in page


def test_snooze_into_the_past_is_refused_with_a_message(client, auth, scene, now):
    _, meeting, me, ada, _ = scene
    auth.login_as(me)
    r = client.post(
        f"/f/{meeting.id}/people/{ada.id}/state",
        data={"state": "snoozed", "snoozed_until": "2000-01-01"},
        follow_redirects=True,
    )
    assert "Snooze until a date after today." in r.get_data(as_text=True)
    assert followups.followup_list(meeting, me).people[0].state == "todo"


def test_state_of_someone_i_did_not_meet_is_404(client, auth, scene, make):
    _, meeting, me, *_ = scene
    stranger = attend(meeting)
    auth.login_as(me)
    r = client.post(f"/f/{meeting.id}/people/{stranger.id}/state", data={"state": "done"})
    assert r.status_code == 404


def test_posts_need_csrf(app, client, auth, scene):
    _, meeting, me, ada, _ = scene
    app.config["WTF_CSRF_ENABLED"] = True
    auth.login_as(me)
    r = client.post(f"/f/{meeting.id}/people/{ada.id}/state", data={"state": "done"})
    assert r.status_code == 400
    assert followups.followup_list(meeting, me).people[0].state == "todo"


def test_goal_is_set_here_and_asked_back_at_the_next_meeting(client, auth, scene, now, make):
    _, meeting, me, *_ = scene
    auth.login_as(me)
    client.post(f"/f/{meeting.id}/goal", data={"text": "find a co-founder"})
    assert followups.goal_for(meeting, me).text == "find a co-founder"

    nxt = make.meeting(meeting.group, starts_in=timedelta(days=20), now=now)
    reg = make.registration(nxt, me)
    page = client.get(f"/p/{reg.pass_token}").get_data(as_text=True)
    with client.application.test_request_context(f"/p/{reg.pass_token}"):
        from flask_login import login_user

        login_user(me)
        snippet = render_template_string('{% include "followups/_goal_prompt.html" %}', reg=reg)
    assert "Last time you said: “find a co-founder”. Done?" in snippet
    assert page  # the pass page itself still renders

    goal = followups.goal_for(meeting, me)
    r = client.post(
        f"/f/{nxt.id}/goals/{goal.id}/answer",
        data={"outcome": "not_yet", "next": f"/p/{reg.pass_token}"},
    )
    assert r.headers["Location"] == f"/p/{reg.pass_token}"
    db.session.refresh(goal)
    assert (goal.outcome, goal.answered_at_meeting_id) == ("not_yet", nxt.id)


def test_goal_form_refuses_an_offsite_next(client, auth, scene):
    _, meeting, me, *_ = scene
    auth.login_as(me)
    r = client.post(f"/f/{meeting.id}/goal", data={"text": "x", "next": "//evil.example/"})
    assert r.headers["Location"] == f"/f/{meeting.id}#goal"


def test_organiser_summary_shows_counts_never_contents(client, auth, scene, now):
    organiser, meeting, me, ada, _ = scene
    with atomic():
        followups.set_goal(meeting, me, "secret ambition", now)
        followups.set_state(meeting, me, ada.id, "done", now)
    auth.login_as(organiser)
    page = client.get(f"/organise/meetings/{meeting.id}/followups").get_data(as_text=True)
    assert 'id="goals-set">1<' in page and 'id="followups-done">1<' in page
    assert "secret ambition" not in page and "send the deck" not in page
    assert "Queue follow-up emails now" in page


def test_organiser_queues_now_once(client, auth, scene):
    organiser, meeting, *_ = scene
    auth.login_as(organiser)
    url = f"/organise/meetings/{meeting.id}/followups/queue"
    first = client.post(url, follow_redirects=True).get_data(as_text=True)
    assert "3 follow-up emails queued." in first
    second = client.post(url, follow_redirects=True).get_data(as_text=True)
    assert "Nothing new to queue" in second
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 3
    assert 'id="emails-queued">3<' in second


def test_another_organisers_meeting_is_404(client, auth, scene, make):
    _, meeting, *_ = scene
    auth.login_as(make.organiser())
    assert client.get(f"/organise/meetings/{meeting.id}/followups").status_code == 404
    assert client.post(f"/organise/meetings/{meeting.id}/followups/queue").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_page_fits_a_phone_and_has_its_stylesheet(client, auth, scene):
    _, meeting, me, *_ = scene
    auth.login_as(me)
    page = client.get(f"/f/{meeting.id}").get_data(as_text=True)
    assert "css/followups.css" in page and 'name="viewport"' in page
    css = client.get("/static/css/followups.css")
    assert css.status_code == 200
    css.close()
