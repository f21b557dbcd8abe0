"""Insights without HTTP (issue #14): every figure on the hand-built scenario of
``tests/insights_scenario.py``, where the right answer is worked out by hand."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from eventtrack.extensions import db
from eventtrack.models import Registration
from eventtrack.services import followups, insights, rules
from eventtrack.services.insights import Bucket
from eventtrack.services.insights.meeting import _median

from ..insights_scenario import WEEK, build


@pytest.fixture
def s(app, now):
    return build(now)


@pytest.fixture
def report(s):
    return insights.meeting_report(s.m6)


def _ids(s, names):
    return [s.people[n].id for n in names.split()]


# --- the meeting report -------------------------------------------------------------------


def test_registered_counts_places_not_walk_ins(report):
    # Rita Ann Carl Adam Ben Bea Nina (present) + Sam, Dan (absent); Walt came without one.
    assert report.registered == 9


def test_checked_in_counts_everyone_present_walk_ins_included(report):
    assert report.checked_in == 8


def test_no_shows_are_registered_and_absent(report):
    assert report.no_shows == 2  # Sam, Dan


def test_walk_ins_cancelled_and_waitlist(report):
    assert (report.walk_ins, report.cancelled, report.waitlist) == (1, 1, 1)


def test_first_timers_and_returning_use_the_doors_rule(s, report):
    assert (report.first_timers, report.returning) == (4, 4)  # Ben Bea Nina Walt / the rest
    door = db.session.scalar(
        select(db.func.count()).where(Registration.meeting_id == s.m6.id, rules.first_timer())
    )
    assert report.first_timers == door


def test_arrivals_per_ten_minutes_from_the_first_to_the_last_with_gaps(report):
    assert report.arrivals == [
        Bucket(-10, 2),  # Rita 5 min early, Adam 1 s early
        Bucket(0, 3),  # Ann at the start, Bea at 3 min, Ben at 9:59
        Bucket(10, 1),  # Carl
        Bucket(20, 1),  # Nina
        Bucket(30, 0),  # nobody: filled
        Bucket(40, 1),  # Walt, the walk-in
    ]


def test_connections_and_their_median_over_everyone_present(report):
    assert report.connections == 7
    # Rita 4, Ann 3, Ben 3, Bea 2, Walt 1, Carl 1, Nina 0, Adam 0
    assert report.distribution == [(0, 2), (1, 2), (2, 1), (3, 2), (4, 1)]
    assert report.connections_per_attendee_median == 1.5
    assert isinstance(report.connections_per_attendee_median, float)


@pytest.mark.parametrize(
    ("distribution", "median"),
    [([], 0.0), ([(3, 1)], 3.0), ([(0, 1), (2, 1)], 1.0), ([(0, 2), (5, 1)], 0.0)],
)
def test_median_of_a_distribution(distribution, median):
    assert _median(distribution) == median


def test_met_nobody_lists_first_timers_first_then_by_name(s, report):
    assert [(p.name, p.first_timer, p.connections) for p in report.met_nobody] == [
        ("Nina", True, 0),
        ("Adam", False, 0),
    ]
    assert report.met_nobody[0].user_id == s.Nina.id


def test_followup_emails_by_status_counting_only_follow_up_mail(report):
    assert (report.followups_sent, report.followups_failed, report.followups_pending) == (2, 1, 1)


def test_followups_done_and_goals(report):
    assert report.followups_done == 3  # Rita→Ann, Rita→Walt, Ann→Rita
    assert (report.goals_set, report.goals_done) == (3, 1)


def test_the_followups_page_and_the_report_count_alike(s, report):
    summary = followups.summary(s.m6)
    assert summary.emails["sent"] == report.followups_sent
    assert summary.emails["failed"] == report.followups_failed
    assert summary.followups_done == report.followups_done
    assert (summary.goals_set, summary.goals_answered["done"]) == (3, 1)


def test_report_holds_no_notes_and_no_goal_text(s, report):
    text = repr(report) + repr(insights.meeting_network(s.m6))
    for secret in ("Ship the beta", "Hire a designer", "Coffee on Friday", "Send the deck"):
        assert secret not in text


def test_meeting_nobody_came_to(s):
    report = insights.meeting_report(s.future)
    assert (report.registered, report.checked_in, report.no_shows) == (2, 0, 2)
    assert report.arrivals == []
    assert report.connections_per_attendee_median == 0.0
    assert report.distribution == [] and report.met_nobody == []


# --- the network ----------------------------------------------------------------------------


def test_network_has_everyone_present_and_every_pair(s):
    network = insights.meeting_network(s.m6)
    names = {p.user_id: p.name for p in network.people}
    assert sorted(names.values()) == sorted(
        ["Rita", "Ann", "Carl", "Adam", "Ben", "Bea", "Nina", "Walt"]
    )
    assert [p.user_id for p in network.people] == sorted(names)
    assert len(network.pairs) == 7 and all(a < b for a, b in network.pairs)
    pairs = {tuple(sorted((names[a], names[b]))) for a, b in network.pairs}
    assert ("Ann", "Bea") in pairs and ("Dan", "Rita") not in pairs
    by_name = {p.name: p for p in network.people}
    assert by_name["Rita"].connections == 4 and by_name["Nina"].connections == 0
    assert {p.name for p in network.people if p.first_timer} == {"Ben", "Bea", "Nina", "Walt"}


def test_a_check_in_undone_takes_its_connections_out_of_network_and_report(s):
    reg = db.session.scalar(
        select(Registration).where(
            Registration.meeting_id == s.m6.id, Registration.user_id == s.Walt.id
        )
    )
    reg.checked_in_at, reg.checkin_how = None, None  # the check-in was undone
    db.session.commit()
    network = insights.meeting_network(s.m6)
    assert s.Walt.id not in {p.user_id for p in network.people}
    assert len(network.pairs) == 6
    assert {p.user_id: p.connections for p in network.people}[s.Rita.id] == 3
    report = insights.meeting_report(s.m6)  # the report counts the same lines
    assert report.connections == 6
    assert report.distribution == [(0, 2), (1, 1), (2, 1), (3, 3)]


# --- the group report ----------------------------------------------------------------------


@pytest.fixture
def group_report(s, now):
    return insights.group_report(s.group, now)


def test_group_meetings_are_the_held_ones_oldest_first(s, group_report):
    assert [m.title for m in group_report.meetings] == ["M1", "M2", "M3", "M4", "M5", "M6"]
    assert [(m.registered, m.checked_in, m.first_timers) for m in group_report.meetings] == [
        (4, 4, 4),
        (4, 4, 0),
        (4, 4, 1),
        (2, 2, 0),
        (4, 4, 3),
        (9, 8, 4),
    ]
    assert group_report.meetings[-1].meeting_id == s.m6.id
    assert group_report.meetings[0].starts_at == s.held[0].starts_at


def test_drifting_came_three_times_then_missed_the_last_three(s, group_report):
    # Not Yves (came to M4), not Fay (left the group), not Xena (came once).
    assert [(d.name, d.attended) for d in group_report.drifting] == [("Dan", 3)]
    assert group_report.drifting[0].user_id == s.Dan.id
    assert group_report.drifting[0].last_attended == s.held[2].starts_at


def test_drifting_longest_absent_first(s, make, now):
    # Lou: an earlier meeting M0, then M1 and M2: absent longer than Dan (last M3).
    m0 = make.meeting(s.group, starts_in=-7 * WEEK, now=now, title="M0")
    for m in (m0, s.held[0], s.held[1]):
        make.registration(m, s.Lou, checked_in_at=m.starts_at, checkin_how="manual")
    drifting = insights.group_report(s.group, now).drifting
    assert [(d.name, d.last_attended) for d in drifting] == [
        ("Lou", s.held[1].starts_at),
        ("Dan", s.held[2].starts_at),
    ]


def test_a_meeting_still_running_is_missed_by_nobody(s, make, now):
    # Lou came to M2, M3 and M4, missed M5 and M6; a meeting started half an hour ago and Lou
    # has not arrived yet: not drifting away (yet). Once it is over without Lou: drifting.
    for m in s.held[1:4]:
        make.registration(m, s.Lou, checked_in_at=m.starts_at, checkin_how="manual")
    running = make.meeting(s.group, starts_in=-timedelta(minutes=30), now=now, title="Now")
    make.registration(running, s.Lou)
    db.session.commit()
    assert "Lou" not in {d.name for d in insights.group_report(s.group, now).drifting}
    later = running.ends_at + timedelta(minutes=1)
    assert "Lou" in {d.name for d in insights.group_report(s.group, later).drifting}
    assert [m.title for m in insights.group_report(s.group, now).meetings][-1] == "Now"


def test_retention_first_timers_who_came_back(group_report):
    # Dan Rita Yves Fay (M1), Xena (M3), Ann Carl Adam (M5), Ben Bea Nina Walt (M6).
    assert group_report.first_timers == 12
    # Back later: Dan Rita Yves Fay, Ann Carl Adam. Not Xena; M6's are at the latest meeting.
    assert group_report.returning_first_timers == 7


def test_pairs_met_counts_each_pair_once_across_meetings(group_report):
    assert group_report.pairs_met == 9  # Rita–Ann met at M5 and M6; K is another group


def test_share_who_met_someone_new_last_time(group_report):
    assert group_report.met_someone_new_last_time == 5 / 8


def test_group_with_no_meeting_held_yet(make, now):
    group = make.group()
    make.meeting(group, now=now)
    report = insights.group_report(group, now)
    assert report.meetings == [] and report.drifting == []
    assert (report.first_timers, report.returning_first_timers, report.pairs_met) == (0, 0, 0)
    assert report.met_someone_new_last_time is None


def test_group_report_as_of_an_earlier_time(s, now):
    report = insights.group_report(s.group, s.held[2].starts_at + timedelta(minutes=1))
    assert [m.title for m in report.meetings] == ["M1", "M2", "M3"]
    assert report.drifting == []
    assert report.met_someone_new_last_time == 2 / 4  # Xena–Rita: both new, of 4 present


# --- the member's own record ---------------------------------------------------------------


@pytest.fixture
def record(s, now):
    return insights.member_record(s.Rita, now)


def test_record_lists_meetings_attended_newest_first_in_groups_she_belongs_to(record):
    assert [(m.title, m.group_name) for m in record.meetings] == [
        ("K", "Other"),
        ("M6", "Circle"),
        ("M5", "Circle"),
        ("M4", "Circle"),
        ("M3", "Circle"),
        ("M2", "Circle"),
        ("M1", "Circle"),
    ]


def test_record_people_met_and_met_again_later_in_any_group(record):
    met = {m.title: [(p.name, p.met_again) for p in m.met] for m in record.meetings}
    assert met == {
        "K": [("Ben", False)],
        "M6": [("Ann", False), ("Ben", True), ("Carl", False), ("Walt", False)],
        "M5": [("Ann", True), ("Carl", True)],
        "M4": [],
        "M3": [("Xena", False)],
        "M2": [],
        "M1": [("Dan", False)],
    }
    assert (record.people_met, record.people_met_again) == (6, 3)  # again: Ann, Carl, Ben


def test_record_followups_are_her_own(record):
    by_title = {m.title: m for m in record.meetings}
    # M6: Walt (promised, done) and Ben (promised, not yet); Ann done but nothing promised.
    assert (by_title["M6"].followups_done, by_title["M6"].followups_promised) == (1, 2)
    assert (by_title["M5"].followups_done, by_title["M5"].followups_promised) == (0, 0)
    assert (record.followups_done, record.followups_promised) == (1, 2)


def test_record_goals_with_their_outcome(record):
    by_title = {m.title: m for m in record.meetings}
    assert (by_title["M6"].goal, by_title["M6"].goal_outcome) == ("Ship the beta", None)
    assert (by_title["M5"].goal, by_title["M5"].goal_outcome) == ("Find a co-founder", "done")
    assert by_title["K"].goal is None
    assert (record.goals_set, record.goals_done) == (2, 1)


def test_record_since_the_first_meeting_local_date(s, record):
    first = s.held[0]
    assert record.since == first.local(first.starts_at).date()
    assert record.user_id == s.Rita.id


def test_record_of_someone_who_never_came(s, now):
    record = insights.member_record(s.Lou, now)
    assert record.meetings == [] and record.since is None
    assert (record.people_met, record.goals_set, record.followups_done) == (0, 0, 0)
