"""Who to meet next: the pure ranking (no database), then the thin function that feeds it."""

from datetime import timedelta

import pytest

from eventtrack.services import connections, suggestions
from eventtrack.services.suggestions import Person, phrases, rank, stem, terms

ME = Person(
    1,
    "Me Myself",
    asks="intros to investors; a technical co-founder",
    offers="code reviews, public speaking",
    interests="Compilers, poetry",
)


@pytest.mark.parametrize(
    ("word", "stemmed"),
    [
        ("investors", "investor"),
        ("investor", "investor"),
        ("mentoring", "mentor"),
        ("companies", "company"),
        ("coding", "cod"),
        ("code", "cod"),
        ("running", "run"),
        ("business", "business"),
        ("co-founder", "cofounder"),
    ],
)
def test_light_stemming(word, stemmed):
    assert stem(word) == stemmed


def test_terms_lower_case_and_drop_stop_words():
    assert terms("Looking for INTROS to Investors and help with my Pitch") == {
        "intro",
        "investor",
        "pitch",
    }


def test_phrases_split_on_commas_semicolons_and_the_word_and():
    assert [p for p, _ in phrases("mentoring and public speaking; UX, Andrew's chess")] == [
        "mentoring",
        "public speaking",
        "UX",
        "Andrew's chess",  # "and" inside a word does not split
    ]


def test_someone_offering_what_i_ask_for_ranks_first_and_says_why():
    ada = Person(2, "Ada Lovelace", offers="Intros to investors")
    zed = Person(3, "Zed Zero")
    result = rank(ME, [zed, ada])
    assert [s.name for s in result] == ["Ada Lovelace", "Zed Zero"]
    assert result[0].why == ["Ada offers intros to investors — you asked for that"]
    assert result[1].why == ["You haven't met yet"] and result[1].score == 0


def test_the_reverse_direction_counts_too_but_less():
    they_help_me = Person(2, "Bea", offers="technical co-founder")
    i_help_them = Person(3, "Cy", asks="a code review")
    result = rank(ME, [i_help_them, they_help_me])
    assert [s.name for s in result] == ["Bea", "Cy"]
    assert result[1].why == ["Cy is looking for a code review — you offer that"]
    assert result[0].score > result[1].score > 0


def test_plural_and_word_forms_still_match():
    result = rank(ME, [Person(2, "Dee", offers="introductions? no: INTRO to an investor")])
    assert result[0].score > 0


def test_shared_interests_count_and_are_named():
    result = rank(ME, [Person(2, "Eve", interests="poetry, diving"), Person(3, "Fay")])
    assert result[0].name == "Eve"
    assert result[0].why == ["You both like poetry"]


def test_newcomers_are_lifted_above_an_equal_match():
    old = Person(2, "Aaron Old", interests="poetry")
    new = Person(3, "Zoe New", interests="poetry", newcomer=True)
    result = rank(ME, [old, new])
    assert [s.name for s in result] == ["Zoe New", "Aaron Old"]
    assert "First time here — Zoe is new to the group" in result[0].why
    assert result[0].newcomer


def test_a_newcomer_with_nothing_in_common_beats_a_stranger_but_not_a_real_match():
    match = Person(2, "Ada", offers="intros to investors")
    newcomer = Person(3, "Newt", newcomer=True)
    stranger = Person(4, "Abe")
    assert [s.name for s in rank(ME, [stranger, newcomer, match])] == ["Ada", "Newt", "Abe"]


def test_people_already_met_and_myself_are_left_out():
    ada = Person(2, "Ada", offers="intros to investors")
    bea = Person(3, "Bea")
    assert [s.user_id for s in rank(ME, [ME, ada, bea], met={2})] == [3]


def test_ties_are_broken_by_name_and_limit_applies():
    people = [Person(i, name) for i, name in [(5, "cara"), (4, "Bob"), (3, "anna")]]
    assert [s.name for s in rank(ME, people)] == ["anna", "Bob", "cara"]
    assert len(rank(ME, people, limit=2)) == 2


def test_empty_profiles_rank_without_errors():
    assert rank(Person(1, ""), [Person(2, "")])[0].why == ["You haven't met yet"]


# --- the thin database function ---------------------------------------------------------


def test_who_to_meet_reads_people_here_and_skips_everyone_met_in_this_group(make, now):
    group = make.group()
    earlier = make.meeting(group, starts_in=timedelta(days=-30), now=now)
    tonight = make.meeting(group, starts_in=timedelta(minutes=-30), now=now)
    me = make.member(group, name="Me", asks="intros to investors")
    met_before = make.member(group, name="Old Friend", offers="intros to investors")
    investor = make.member(group, name="Ivy Investor", offers="intros to investors")
    newcomer = make.member(group, name="Nell New")
    absent = make.member(group, name="Absent Abe", offers="intros to investors")
    for person in (me, met_before):
        make.registration(earlier, person, checked_in_at=now - timedelta(days=30))
    connections.record_connection(earlier, me, met_before, "list", "", now - timedelta(days=30))
    for person in (me, met_before, investor, newcomer):
        make.registration(tonight, person, checked_in_at=now)
    make.registration(tonight, absent)  # registered but not here
    make.registration(earlier, investor, checked_in_at=now - timedelta(days=30))
    result = suggestions.who_to_meet(tonight, me)
    assert [s.name for s in result] == ["Ivy Investor", "Nell New"]
    assert result[1].newcomer and not result[0].newcomer


def test_who_to_meet_is_empty_until_i_am_checked_in(make, now):
    group = make.group()
    tonight = make.meeting(group, starts_in=timedelta(minutes=-30), now=now)
    me = make.member(group)
    make.registration(tonight, me)
    make.registration(tonight, make.member(group), checked_in_at=now)
    assert suggestions.who_to_meet(tonight, me) == []
