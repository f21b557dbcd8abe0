"""The organisers' member list: the folded search key kept up to date, paging, and the
organisers' changes to a member (typed name, removal, the organiser role)."""

import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import Connection, Membership, Registration
from eventtrack.models.vocabularies import Role
from eventtrack.services import groups, meetings, members, profiles
from eventtrack.services.errors import DomainError, NotFound
from eventtrack.transaction import atomic

from ..followup_scenarios import attend, meet, past_meeting


def _found(group, query) -> list[str]:
    return [m.user.email for m in members.member_page(group, query).members]


def _key(group, email) -> str:
    return db.session.scalar(
        select(Membership.search_key)
        .join(Membership.user)
        .where(Membership.group_id == group.id)
        .where(Membership.user.has(email=email))
    )


def test_search_matches_whatever_the_case_and_accents(make, now):
    group = make.group()
    with atomic():
        groups.add_member(group, "Özlem Yılmaz", "ozlem@example.com", now=now)
        groups.add_member(group, "Søren Kierkegaard", "soren@example.com", now=now)
        groups.add_member(group, "Ada Lovelace", "ada@example.com", now=now)
    assert _key(group, "ozlem@example.com") == "ozlem yilmaz ozlem@example.com"
    for query in ("ozlem", "ÖZLEM", "özlem", "  Yılmaz ", "YILMAZ", "lem yil"):
        assert _found(group, query) == ["ozlem@example.com"], query
    assert _found(group, "SØREN") == _found(group, "soren") == ["soren@example.com"]
    assert _found(group, "ada@") == ["ada@example.com"]
    assert len(_found(group, "")) == 4  # the owner too


def test_like_wildcards_in_a_query_are_plain_characters(make, now):
    group = make.group()
    with atomic():
        groups.add_member(group, "Ada", "ada@example.com", now=now)
        groups.add_member(group, "Percent 100%", "pc@example.com", now=now)
    assert _found(group, "%") == ["pc@example.com"]
    assert _found(group, "_") == []
    assert _found(group, "a%a") == []


def test_the_accounts_own_name_is_not_searchable_until_they_take_part(make, now):
    other = make.group(name="Alan's circle")
    alan = make.member(other, name="Alan Turing", email="alan@example.com", company="Bletchley")
    group = make.group(name="Stranger's group")
    with atomic():
        membership, _ = groups.add_member(group, "A. Nonymous", "alan@example.com", now=now)
    assert _found(group, "turing") == _found(group, "bletchley") == []
    assert _found(group, "nonymous") == ["alan@example.com"]
    with atomic():
        members.accept(membership, now)
    assert _found(group, "turing") == _found(group, "bletchley") == ["alan@example.com"]
    assert _found(group, "nonymous") == []
    assert alan.name == "Alan Turing"


def test_taking_part_by_rsvp_refreshes_the_key(make, now):
    from eventtrack.services import registrations

    group = make.group()
    with atomic():
        membership, _ = groups.add_member(group, "Typed", "zoe@example.com", now=now)
        membership.user.name, membership.user.company = "Zoë Ünal", "Äcme"
    meeting = make.meeting(group, now=now)
    with atomic():
        registrations.register(meeting, membership.user, now, by_member=True)
    assert _key(group, "zoe@example.com") == "zoe unal zoe@example.com acme"


def test_a_profile_edit_refreshes_only_the_groups_that_see_the_profile(make, now):
    seen, unseen = make.group(name="Seen"), make.group(name="Unseen")
    with atomic():
        a, _ = groups.add_member(seen, "Typed A", "kim@example.com", now=now)
        groups.add_member(unseen, "Typed B", "kim@example.com", now=now)
        members.accept(a, now)
    user = a.user
    with atomic():
        profiles.update_profile(user, user, name="Kim Ødegård", company="Nørd AS")
    assert _found(seen, "odegard") == _found(seen, "nord as") == ["kim@example.com"]
    assert _found(unseen, "odegard") == [] and _found(unseen, "typed b") == ["kim@example.com"]


def test_editing_what_was_typed_changes_what_is_shown_and_searched(make, now):
    group = make.group()
    with atomic():
        membership, _ = groups.add_member(group, "Bob", "bob@example.com", "Old Co", now=now)
    assert _found(group, "old co") == ["bob@example.com"]
    with atomic():
        groups.edit_member(membership, "  Róbert Smith ", " Ñandú Labs ")
    assert (membership.typed_name, membership.typed_company) == ("Róbert Smith", "Ñandú Labs")
    assert members.person(group.id, membership.user_id).company == "Ñandú Labs"
    assert _found(group, "robert") == _found(group, "nandu") == ["bob@example.com"]
    assert _found(group, "bob smith") == _found(group, "old co") == []
    assert membership.user.company == "Old Co"  # the account's own profile is untouched
    for name, company, field in (
        ("   ", "", "name"),
        ("x" * 121, "", "name"),
        ("B", "c" * 121, "company"),
    ):
        with pytest.raises(DomainError) as exc:
            groups.edit_member(membership, name, company)
        assert exc.value.field == field


def test_what_was_typed_stops_showing_once_they_take_part(make, now):
    group = make.group()
    with atomic():
        membership, _ = groups.add_member(group, "Typed", "t@example.com", "Typed Co", now=now)
        membership.user.name, membership.user.company = "Own Name", "Own Co"
        members.accept(membership, now)
    with atomic():
        groups.edit_member(membership, "Retyped", "Retyped Co")
    seen = members.person(group.id, membership.user_id)
    assert (seen.name, seen.company) == ("Own Name", "Own Co")
    assert _found(group, "retyped") == [] and _found(group, "own co") == ["t@example.com"]


def test_member_page_pages_by_fifty_with_counts(make, now):
    group = make.group()  # the owner is member number one
    with atomic():
        for i in range(119):
            groups.add_member(group, f"Member {i:03}", f"m{i:03}@example.com", now=now)
    first = members.member_page(group)
    assert (first.first, first.last, first.matching, first.total, first.pages) == (
        1,
        50,
        120,
        120,
        3,
    )
    last = members.member_page(group, page=3)
    assert (last.first, last.last, len(last.members)) == (101, 120, 20)
    assert members.member_page(group, page=99).page == 3
    assert members.member_page(group, page=-4).page == 1
    search = members.member_page(group, "member 01")
    assert (search.matching, search.total, search.first, search.last) == (10, 120, 1, 10)
    none = members.member_page(group, "nobody")
    assert (none.matching, none.first, none.last, none.members) == (0, 0, 0, [])
    everyone = [m.user.email for p in (1, 2, 3) for m in members.member_page(group, page=p).members]
    assert len(set(everyone)) == 120  # no one twice, no one missing


def test_member_page_costs_the_same_queries_whatever_the_size(make, now, count_queries):
    small, large = make.group(name="Small"), make.group(name="Large")
    with atomic():
        for i in range(3):
            groups.add_member(small, f"S {i}", f"s{i}@example.com", now=now)
        for i in range(150):
            groups.add_member(large, f"L {i}", f"l{i}@example.com", now=now)
    counted = []
    for group in (small, large):
        with count_queries() as counter:
            members.member_page(group, "l", page=2)
        counted.append(counter.count)
    assert counted[0] == counted[1] <= 3


def test_removing_a_member_keeps_their_history_in_the_meeting_numbers(make, now):
    group = make.group()
    meeting = past_meeting(group, now)
    ada, grace = attend(meeting), attend(meeting)
    meet(meeting, ada, grace)
    before = meetings.counts(meeting)
    with atomic():
        groups.remove_member(groups.membership_in(group, ada.id))
    with pytest.raises(NotFound):
        groups.membership_in(group, ada.id)
    assert meetings.counts(meeting) == before and before["checked_in"] == 2
    assert db.session.scalar(select(func.count()).select_from(Connection)) == 1
    assert db.session.scalar(select(func.count()).where(Registration.user_id == ada.id)) == 1


def test_a_member_of_another_group_is_not_found(make):
    group, other = make.group(), make.group(name="Other")
    stranger = make.member(other)
    with pytest.raises(NotFound):
        groups.membership_in(group, stranger.id)


def test_the_last_organiser_can_neither_be_removed_nor_lose_the_role(make):
    owner = make.organiser()
    group = make.group(owner)
    own = groups.membership_in(group, owner.id)
    with pytest.raises(DomainError, match="only organiser") as taken:
        groups.set_role(own, Role.MEMBER)
    with pytest.raises(DomainError, match="only organiser") as removed:
        groups.remove_member(own)
    assert taken.value.code == removed.value.code == "last_organiser"
    db.session.rollback()
    assert groups.membership_in(group, owner.id).role == Role.ORGANISER


def test_co_organisers_give_and_take_the_role(make):
    owner = make.organiser()
    group = make.group(owner)
    kim = make.member(group)
    with atomic():
        groups.set_role(groups.membership_in(group, kim.id), Role.ORGANISER)
    assert groups.membership_in(group, kim.id).role == Role.ORGANISER
    with atomic():  # now the owner may step down: Kim organises
        groups.set_role(groups.membership_in(group, owner.id), Role.MEMBER)
    assert groups.membership_in(group, owner.id).role == Role.MEMBER
    with pytest.raises(DomainError, match="only organiser"):
        groups.set_role(groups.membership_in(group, kim.id), Role.MEMBER)
    db.session.rollback()
    with atomic():  # a plain member can be removed; then Kim is still the organiser
        groups.remove_member(groups.membership_in(group, owner.id))
    assert groups.membership_in(group, kim.id).role == Role.ORGANISER
