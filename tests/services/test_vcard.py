import vobject

from eventtrack.services import followups, vcard
from eventtrack.services.followups import Person

from ..followup_scenarios import attend, meet, past_meeting


def person(name, shared=True, **kw):
    values = dict(
        user_id=len(name),
        name=name,
        headline="",
        company="",
        linkedin_url="",
        note="",
        shared=shared,
        email=f"{name.split()[0].lower()}@example.com" if shared else None,
        phone=None,
    )
    values.update(kw)
    return Person(**values)


def parse(text):
    return list(vobject.readComponents(text))


def test_vcard_holds_exactly_the_consenting_people(make, now):
    meeting = past_meeting(make.group(), now)
    me = attend(meeting)
    olga = attend(meeting, name="Olga Open", share_contact=True, phone="+49 30 1", company="ACME")
    carl = attend(meeting, name="Carl Closed", share_contact=False, phone="+49 30 2")
    attend(meeting, name="Nina Notmet", share_contact=True)
    meet(meeting, me, olga, note_x="send slides")
    meet(meeting, me, carl)

    lst = followups.followup_list(meeting, me)
    cards = parse(vcard.vcard(lst.shared, meeting))

    assert [c.fn.value for c in cards] == ["Olga Open"]
    (card,) = cards
    assert card.version.value == "3.0"
    assert card.email.value == olga.email
    assert card.tel.value == "+49 30 1"
    assert card.org.value == ["ACME"]
    assert card.n.value.family == "Open" and card.n.value.given == "Olga"
    assert "send slides" in card.note.value
    assert carl.email not in vcard.vcard(lst.people, meeting)


def test_vcard_escapes_commas_semicolons_newlines_and_backslashes(make, now):
    meeting = past_meeting(make.group(), now, title="Meetup; the big one")
    tricky = person(
        "Ann, Jr.; O'Neil",
        company="Foo; Bar, Inc",
        headline="CTO\nand cook",
        note="line one\nline two; with \\ backslash",
    )
    (card,) = parse(vcard.vcard([tricky], meeting))
    assert card.fn.value == "Ann, Jr.; O'Neil"
    assert card.org.value == ["Foo; Bar, Inc"]
    assert card.title.value == "CTO\nand cook"
    assert card.note.value.endswith("line one\nline two; with \\ backslash")
    assert "Meetup; the big one" in card.note.value


def test_long_unicode_lines_are_folded_at_75_octets_and_parse_back(make, now):
    meeting = past_meeting(make.group(), now)
    name = "Zoë Ångström-Łukasiewicz " + "ß" * 60
    text = vcard.vcard([person(name, email="zoe@example.com")], meeting)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    (card,) = parse(text)
    assert card.fn.value == name


def test_no_consenting_people_means_no_vcard(make, now):
    meeting = past_meeting(make.group(), now)
    assert vcard.vcard([person("Pat Private", shared=False)], meeting) == ""
    assert vcard.vcard([], meeting) == ""


def test_the_handmade_cards_say_what_vobject_would_write():
    # bench/handmade.py times both writers; they must write the same cards for that to count.
    from bench import handmade

    met, where = handmade.people(), handmade.meeting()
    handmade.same_cards(vcard.vcard(met, where), handmade.vcard_with_vobject(met, where))
