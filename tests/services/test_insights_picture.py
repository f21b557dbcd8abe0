"""The networking picture and the report charts: server-side SVG, built from the report shapes
by hand (no database), parsed as XML and read back."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from eventtrack.services.insights import (
    AttendedMeeting,
    Bucket,
    MeetingPoint,
    MetPerson,
    Network,
    Person,
    charts,
    picture,
)

SVG = "{http://www.w3.org/2000/svg}"


def person(uid, name=None, first=False):
    return Person(uid, name or f"Person {uid}", first, 0)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    return root


def dots(root) -> list[ET.Element]:
    return [e for e in root.iter() if "person" in (e.get("class") or "").split()]


def segments(root) -> list[str]:
    lines = [e for e in root.iter() if e.get("class") == "connections"]
    assert len(lines) <= 1  # every line in ONE path
    return re.findall(r"M[^ML]+L[^ML]+", lines[0].get("d")) if lines else []


def small_network():
    """Ten people: a triangle, a pair, a chain of three, and two (one a first-timer) alone."""
    people = [person(i, first=i in (2, 9)) for i in range(1, 11)]
    pairs = [(1, 2), (1, 3), (2, 3), (4, 5), (6, 7), (7, 8)]
    return Network(people, pairs)


def test_the_picture_has_a_dot_per_person_and_one_segment_per_pair():
    root = parse(picture.network_svg(small_network(), names=True))

    assert len(dots(root)) == 10
    assert len(segments(root)) == 6
    assert root.find(f"{SVG}title").text == "Who met whom"
    assert "10 people present, 6 connections, 2 first-timers, 2 met nobody" in (
        root.find(f"{SVG}desc").text
    )


def test_first_timers_and_people_who_met_nobody_are_marked():
    root = parse(picture.network_svg(small_network(), names=True))
    by_id = {int(e.get("data-user-id")): e for e in dots(root)}

    assert {u for u, e in by_id.items() if "first-timer" in e.get("class")} == {2, 9}
    assert {u for u, e in by_id.items() if "met-nobody" in e.get("class")} == {9, 10}
    assert by_id[9].get("stroke") == by_id[10].get("stroke") == picture.MET_NOBODY
    assert by_id[2].tag == f"{SVG}path" and by_id[1].tag == f"{SVG}circle"  # a shape, not a hue
    assert by_id[2].get("fill") != by_id[1].get("fill")
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Met nobody (2)" in texts and "First-timer" in texts  # the strip and the legend


def test_people_who_met_sit_next_to_each_other_on_the_circle():
    order, alone = picture.circle_order(small_network().people, small_network().pairs)

    # Components largest first, each together; the ones who met nobody apart.
    assert set(order[:3]) == {1, 2, 3} and set(order[3:6]) == {6, 7, 8}
    assert order[3] == 7  # a component starts at its best-connected person
    assert set(order[6:]) == {4, 5} and alone == [9, 10]


def test_names_are_escaped():
    people = [person(1, "<script>alert(1)</script>"), person(2, 'Tim "&" Co'), person(3, "A\x01B")]
    svg = picture.network_svg(Network(people, [(1, 2)]), names=True)
    root = parse(svg)  # would fail on a raw < or &, or a control character

    assert "<script>" not in svg and "&lt;script&gt;" in svg
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"<script>alert(1)</scr…", 'Tim "&" Co', "AB"} <= texts
    assert '"&"' not in svg  # in labels and tooltips alike
    tips = {t.text for t in root.iter(f"{SVG}title")}
    assert any(t.startswith('Tim "&" Co') for t in tips)


def test_no_names_when_names_is_false():
    network = Network([person(1, "Ada Lovelace"), person(2, "Grace Hopper")], [(1, 2)])
    svg = picture.network_svg(network, names=False)
    parse(svg)

    assert "Ada" not in svg and "Grace" not in svg
    assert len(dots(parse(svg))) == 2


def test_names_become_tooltips_when_many():
    people = [person(i, f"Name {i}") for i in range(1, picture.LABEL_MAX + 2)]
    root = parse(picture.network_svg(Network(people, [(1, 2)]), names=True))

    assert not [t for t in root.iter(f"{SVG}text") if t.get("class") == "name"]
    assert "Name 7 (returning, met nobody)" in {t.text for t in root.iter(f"{SVG}title")}


def test_the_same_network_gives_the_same_picture_whatever_the_order_of_pairs():
    network = small_network()
    shuffled = Network(list(reversed(network.people)), list(reversed(network.pairs)))

    first = picture.network_svg(network, names=True)
    assert picture.network_svg(network, names=True) == first
    assert picture.network_svg(shuffled, names=True) == first


def test_pairs_with_someone_not_present_are_left_out():
    network = Network([person(1), person(2)], [(1, 2), (2, 99), (3, 3)])

    assert len(segments(parse(picture.network_svg(network, names=False)))) == 1


def test_an_empty_meeting_draws_a_picture_that_says_so():
    svg = picture.network_svg(Network([], []), names=True)

    assert "Nobody is checked in yet." in svg and not dots(parse(svg))


def test_many_lines_are_drawn_fainter():
    people = [person(i) for i in range(1, 201)]
    few = Network(people, [(1, 2)])
    many = Network(people, [(a, b) for a in range(1, 201) for b in range(a + 1, 201)][:10_000])

    def opacity(n):
        root = parse(picture.network_svg(n, names=False))
        return float(
            next(e for e in root.iter() if e.get("class") == "connections").get("stroke-opacity")
        )

    assert opacity(many) < opacity(few)


def test_the_attendance_chart_has_a_bar_per_meeting_and_figure():
    start = datetime(2026, 3, 1, 18, tzinfo=UTC)
    points = [
        MeetingPoint(i, f"M{i}", start + timedelta(weeks=i), 10 + i, 5 + i, 1) for i in range(6)
    ]
    root = parse(charts.attendance_chart(points))

    bars = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "bar"]
    assert len(bars) == 12
    tips = [b.find(f"{SVG}title").text for b in bars]
    assert "01 Mar: 10 registered" in tips and "05 Apr: 10 checked in" in tips
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Meeting date" in texts and "Checked in" in texts  # axis label, legend
    assert root.find(f"{SVG}desc").text.startswith("6 meetings; 45 check-ins")


def test_the_arrival_and_distribution_charts_label_their_bars():
    arrivals = parse(charts.arrival_chart([Bucket(-10, 2), Bucket(0, 5), Bucket(10, 1)]))
    labels = [t.text for t in arrivals.iter(f"{SVG}text")]
    assert {"-10", "0", "+10"} <= set(labels)
    assert "Busiest: 5 from minute +0" in arrivals.find(f"{SVG}desc").text

    dist = parse(charts.distribution_chart([(0, 3), (2, 4)]))
    bars = [e for e in dist.iter(f"{SVG}rect") if e.get("class") == "bar"]
    assert [b.find(f"{SVG}title").text for b in bars] == [
        "0: 3 attendees",
        "1: 0 attendees",
        "2: 4 attendees",
    ]


def test_the_record_chart_escapes_and_orders_oldest_first():
    start = datetime(2026, 1, 5, tzinfo=UTC)
    meetings = [
        AttendedMeeting(
            2, "<b>", "G", start + timedelta(weeks=1), [MetPerson(3, "X", True)], 0, 0, None, None
        ),
        AttendedMeeting(1, "A", "G", start, [], 0, 0, None, None),
    ]
    root = parse(charts.record_chart(meetings))

    bars = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "bar"]
    assert [b.find(f"{SVG}title").text for b in bars] == [
        "05 Jan: 0 people met",
        "05 Jan: 0 met again later",
        "12 Jan: 1 people met",
        "12 Jan: 1 met again later",
    ]
