"""The networking picture: who met whom at one meeting, as a server-side SVG.

People are dots on a circle, one straight line per connection. The circle is ordered so that
people who met sit near each other: connected groups (components) largest first, each walked
depth-first from its best-connected person, so a table that talked among itself shows as a
dense arc of short lines. People who met nobody sit apart, in their own strip below the
circle, with a red ring. First-timers are orange diamonds, returning people blue dots; a
legend says so.

O(n + m) apart from sorting the pairs once (for a deterministic order): 5,000 people and
100,000 connections take about 90 ms of CPU on the development machine (``bench.reports``).
All the lines are ONE ``<path>``, with a lower opacity the more there are, so a browser draws
100,000 of them quickly and a dense picture shows density rather than a black disc. Names
appear only when ``names=True`` (organisers): as labels up to ``LABEL_MAX`` people, as
``<title>`` tooltips beyond; never notes. Every name is escaped (and stripped of characters
XML cannot hold).
"""

import html
import math
import operator
import re

from . import Network, Person

LABEL_MAX = 60  # up to this many people, names are written beside the dots
LABEL_CHARS = 22  # a longer name is cut in its label (the tooltip keeps it whole)
WIDTH = 1000
RETURNING, FIRST_TIMER, MET_NOBODY, LINE = "#1d5fa8", "#c2410c", "#b42318", "#52606d"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    """``value`` safe inside XML text or a double-quoted attribute."""
    return html.escape(_NOT_XML.sub("", value), quote=True)


class Svg(str):
    """An SVG document whose every text went through ``_text``: a template inserts it as it is
    (Jinja honours ``__html__``, the protocol of markupsafe, which we need not import)."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


FIRST, SECOND = operator.itemgetter(0), operator.itemgetter(1)


def _clean_pairs(pairs: list[tuple[int, int]], people: dict) -> list[tuple[int, int]]:
    """``pairs`` sorted (the same picture whatever order the database gave them in), between
    two people of ``people``. Pairs are unique (the database's key). The checks run at C speed;
    the loop only when one fails."""
    pairs = sorted(pairs)  # timsort: one pass over pairs that come sorted already
    if not pairs:
        return []
    ends = set(map(FIRST, pairs))
    ends.update(map(SECOND, pairs))
    if ends <= people.keys() and not any(map(operator.eq, map(FIRST, pairs), map(SECOND, pairs))):
        return pairs
    return [(a, b) for a, b in pairs if a != b and a in people and b in people]


def _neighbours(people: list[Person], pairs: list[tuple[int, int]]) -> dict[int, list[int]]:
    """Everyone's neighbours, in id order when ``pairs`` are sorted (the smaller ids come from
    earlier pairs, the larger ones from the person's own run). One plain loop: grouping the
    pairs by their second id instead (a sort and ``groupby``) was twice as slow at 100,000
    pairs, the sorted copy's tuples being scattered in memory."""
    neighbours: dict[int, list[int]] = {p.user_id: [] for p in people}
    for a, b in pairs:
        neighbours[a].append(b)
        neighbours[b].append(a)
    return neighbours


def circle_order(people: list[Person], pairs: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """The user ids of people who met someone, in circle order, and of those who met nobody.

    Components largest first (ties: smallest id first); each walked depth-first from its
    best-connected person (ties: smallest id), neighbours in id order. Depth-first keeps a
    chain of acquaintances together on the circle; breadth-first alternated between the sides
    of such a chain, a level at a time, and drew long criss-crossing lines between them.
    ``pairs`` come from ``_clean_pairs``.
    """
    neighbours = _neighbours(people, pairs)  # each list in id order (pairs are sorted)
    seen: set[int] = set()
    components: list[list[int]] = []
    # The best-connected person of a component is the first of it in this order.
    for root in sorted(neighbours, key=lambda u: (-len(neighbours[u]), u)):
        if root in seen or not neighbours[root]:
            continue
        walk: list[int] = []
        stack = [root]
        while stack:
            here = stack.pop()
            if here in seen:
                continue
            seen.add(here)
            walk.append(here)
            stack.extend(reversed(neighbours[here]))  # the smallest id is walked first
        components.append(walk)
    components.sort(key=lambda c: (-len(c), min(c)))
    order = [uid for walk in components for uid in walk]
    alone = sorted(uid for uid, ns in neighbours.items() if not ns)
    return order, alone


def _dot(person: Person, x: float, y: float, r: float, alone: bool, tip: str) -> str:
    kind = "first-timer" if person.first_timer else "returning"
    fill = FIRST_TIMER if person.first_timer else RETURNING
    ring = f' stroke="{MET_NOBODY}" stroke-width="{max(1.5, r / 2.5):.1f}"' if alone else ""
    cls = f"person {kind}{' met-nobody' if alone else ''}"
    attrs = f'class="{cls}" data-user-id="{person.user_id}" fill="{fill}"{ring}'
    if person.first_timer:  # a diamond: told apart by its shape, not only by its colour
        s = r * 1.3
        tag, where = (
            "path",
            f'd="M{x:.1f} {y - s:.1f}l{s:.1f} {s:.1f}l{-s:.1f} {s:.1f}l{-s:.1f} {-s:.1f}z"',
        )
    else:
        tag, where = "circle", f'cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"'
    # Someone who met nobody also gets a red ring around the dot, seen at a glance.
    halo = (
        f'<circle class="ring" cx="{x:.1f}" cy="{y:.1f}" r="{r * 1.3 + 4:.1f}" fill="none" '
        f'stroke="{MET_NOBODY}" stroke-width="2.5"/>'
        if alone
        else ""
    )
    if tip:
        return f"{halo}<{tag} {attrs} {where}><title>{tip}</title></{tag}>"
    return f"{halo}<{tag} {attrs} {where}/>"


def _tip(person: Person, names: bool) -> str:
    if not names:
        return ""
    what = "first-timer" if person.first_timer else "returning"
    met = f"met {person.connections}" if person.connections else "met nobody"
    return _text(f"{person.name} ({what}, {met})")


def _label(name: str, x: float, y: float, anchor: str) -> str:
    short = name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"
    return (
        f'<text class="name" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" '
        f'dominant-baseline="middle">{_text(short)}</text>'
    )


def _legend(y: int) -> str:
    items = [
        f'<circle cx="16" cy="{y}" r="7" fill="{RETURNING}"/>',
        f'<text x="30" y="{y}" dominant-baseline="middle">Returning</text>',
        f'<path d="M150 {y - 9}l9 9l-9 9l-9 -9z" fill="{FIRST_TIMER}"/>',
        f'<text x="166" y="{y}" dominant-baseline="middle">First-timer</text>',
        f'<circle cx="296" cy="{y}" r="6" fill="{RETURNING}"/>',
        f'<circle cx="296" cy="{y}" r="10" fill="none" stroke="{MET_NOBODY}" stroke-width="2.5"/>',
        f'<text x="312" y="{y}" dominant-baseline="middle">Met nobody</text>',
        f'<path d="M430 {y}h28" stroke="{LINE}" stroke-width="2"/>',
        f'<text x="466" y="{y}" dominant-baseline="middle">Met each other</text>',
    ]
    return '<g class="legend" font-size="17">' + "".join(items) + "</g>"


def network_svg(network: Network, *, names: bool) -> Svg:
    """The picture of ``network`` as an SVG document (names only when ``names``)."""
    people = {p.user_id: p for p in network.people}
    pairs = _clean_pairs(network.pairs, people)
    order, alone = circle_order(network.people, pairs)
    labels = names and len(people) <= LABEL_MAX
    n = len(order)
    top, cx = 40, WIDTH / 2
    radius = (WIDTH / 2 - (175 if labels else 20)) if n else 0
    cy = top + radius + (40 if labels else 20)
    r = max(1.5, min(9.0, math.pi * radius / max(n, 1) * 0.7)) if n else 0
    parts: list[str] = []
    points: dict[int, str] = {}
    for i, uid in enumerate(order):
        angle = 2 * math.pi * i / n - math.pi / 2
        cos, sin = math.cos(angle), math.sin(angle)
        x, y = cx + radius * cos, cy + radius * sin
        points[uid] = f"{x:.0f} {y:.0f}"
        person = people[uid]
        parts.append(_dot(person, x, y, r, False, _tip(person, names)))
        if labels:
            lx, ly = cx + (radius + r + 8) * cos, cy + (radius + r + 8) * sin
            parts.append(_label(person.name, lx, ly, "start" if cos >= -1e-9 else "end"))
    starts = {uid: f"M{xy}" for uid, xy in points.items()}
    ends = {uid: f"L{xy}" for uid, xy in points.items()}
    # C-speed loops: 100,000 segments in a few milliseconds.
    d = "".join(
        map(
            operator.add,
            map(starts.__getitem__, map(FIRST, pairs)),
            map(ends.__getitem__, map(SECOND, pairs)),
        )
    )
    opacity = min(0.7, max(0.03, 12 / math.sqrt(len(pairs)))) if pairs else 0
    lines = (
        f'<path class="connections" fill="none" stroke="{LINE}" stroke-width="1.2" '
        f'stroke-opacity="{opacity:.3f}" d="{d}"/>'
        if pairs
        else ""
    )
    # The strip of people who met nobody, below the circle.
    strip_top = (cy + radius + (50 if labels else 30)) if n else top + 30
    strip: list[str] = []
    if alone:
        strip.append(
            f'<text class="strip-label" x="16" y="{strip_top:.0f}" font-weight="600" '
            f'fill="{MET_NOBODY}">Met nobody ({len(alone)})</text>'
        )
        step, per_row = (240, 4) if labels else (26, (WIDTH - 32) // 26)
        ar = 7 if labels else 6
        for i, uid in enumerate(alone):
            x = 28 + (i % per_row) * step
            y = strip_top + 28 + (i // per_row) * (30 if labels else 26)
            strip.append(_dot(people[uid], x, y, ar, True, _tip(people[uid], names)))
            if labels:
                strip.append(_label(people[uid].name, x + 20, y, "start"))
        rows = (len(alone) + per_row - 1) // per_row
        height = strip_top + 28 + rows * (30 if labels else 26)
    else:
        height = strip_top if n else top + 60
    first = sum(1 for p in network.people if p.first_timer)
    desc = (
        f"{len(people)} people present, {len(pairs)} connections, {first} first-timers, "
        f"{len(alone)} met nobody."
    )
    empty = (
        f'<text x="{cx:.0f}" y="{top + 40}" text-anchor="middle" fill="{LINE}">'
        "Nobody is checked in yet.</text>"
        if not people
        else ""
    )
    return Svg(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="network" role="img" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" width="{WIDTH}" height="{height:.0f}" '
        f'aria-labelledby="network-title network-desc" font-family="{FONT}" font-size="16" '
        f'fill="#1f2933">'
        f'<title id="network-title">Who met whom</title><desc id="network-desc">{desc}</desc>'
        f'<rect width="100%" height="100%" fill="#fff"/>'
        f"{_legend(18)}{lines}{''.join(parts)}{''.join(strip)}{empty}</svg>"
    )
