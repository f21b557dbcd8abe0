"""Small server-side SVG bar charts for the report pages: attendance per meeting, the arrival
curve, connections per attendee, a member's people met per meeting.

Plain SVG with presentation attributes only (the Content-Security-Policy allows no inline
style), ``role="img"`` with a ``<title>`` and ``<desc>``; every page shows the same figures as
a table beside the chart. Every text is escaped.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from . import AttendedMeeting, Bucket, MeetingPoint
from .picture import FONT, Svg, _text

WIDTH, HEIGHT = 480, 250  # drawn at 340 px on a phone, 640 px at most on a desktop
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 30, 58
BLUE, GREEN, GREY = "#1d5fa8", "#1e6b34", "#52606d"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]
    colour: str


def _ticks(top: int) -> list[int]:
    """Up to five round steps from 0 to at least ``top``."""
    if top <= 0:
        return [0, 1]
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return list(range(0, top + step, step))


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
) -> Svg:
    """Grouped bars: one group per label, one bar per series, with axes, ticks and a legend."""
    ticks = _ticks(max((max(s.values, default=0) for s in series), default=0))
    top = ticks[-1] or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    bar = max(1.0, min(28.0, slot * 0.8 / max(len(series), 1)))
    every = max(1, math.ceil(len(labels) / (plot_w / 60)))  # a label every 60 px at most
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="{FONT}" '
        f'font-size="13" fill="#1f2933">',
        f'<title id="{chart_id}-title">{_text(title)}</title>',
        f'<desc id="{chart_id}-desc">{_text(desc)}</desc>',
    ]
    for tick in ticks:
        y = TOP + plot_h - plot_h * tick / top
        out.append(
            f'<path d="M{LEFT} {y:.1f}h{plot_w}" stroke="#d3d8de" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y:.1f}" text-anchor="end" dominant-baseline="middle" '
            f'fill="{GREY}">{tick:,}</text>'
        )
    for i, label in enumerate(labels):
        x0 = LEFT + slot * i + (slot - bar * len(series)) / 2
        for k, s in enumerate(series):
            value = s.values[i]
            h = plot_h * value / top
            out.append(
                f'<rect class="bar" x="{x0 + k * bar:.1f}" y="{TOP + plot_h - h:.1f}" '
                f'width="{max(bar - 1, 1):.1f}" height="{h:.1f}" fill="{s.colour}">'
                f"<title>{_text(label)}: {value:,} {_text(s.name.lower())}</title></rect>"
            )
        if i % every == 0:
            out.append(
                f'<text x="{LEFT + slot * (i + 0.5):.1f}" y="{TOP + plot_h + 16}" '
                f'text-anchor="middle" fill="{GREY}">{_text(label)}</text>'
            )
    out.append(
        f'<path d="M{LEFT} {TOP}V{TOP + plot_h}H{WIDTH - RIGHT}" stroke="{GREY}" fill="none"/>'
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle">'
        f"{_text(x_label)}</text>"
        f'<text x="4" y="{TOP - 12}" fill="{GREY}">{_text(y_label)}</text>'
    )
    if len(series) > 1:
        x = WIDTH - RIGHT
        for s in reversed(series):
            width = 14 + 7 * len(s.name)
            x -= width + 12
            out.append(
                f'<rect x="{x}" y="{TOP - 22}" width="10" height="10" fill="{s.colour}"/>'
                f'<text x="{x + 14}" y="{TOP - 13}">{_text(s.name)}</text>'
            )
    out.append("</svg>")
    return Svg("".join(out))


def _day(when: datetime, tz: ZoneInfo | None) -> str:
    return (when.astimezone(tz) if tz else when).strftime("%d %b")


def attendance_chart(points: Sequence[MeetingPoint], tz: ZoneInfo | None = None) -> Svg:
    """Registered and checked in at each meeting of a series, oldest first."""
    labels = [_day(p.starts_at, tz) for p in points]
    checked = sum(p.checked_in for p in points)
    return bar_chart(
        "attendance",
        "Attendance per meeting",
        f"{len(points)} meetings; {checked:,} check-ins in all. The table below gives each.",
        labels,
        [
            Series("Registered", [p.registered for p in points], BLUE),
            Series("Checked in", [p.checked_in for p in points], GREEN),
        ],
        "Meeting date",
        "People",
    )


def arrival_chart(buckets: Sequence[Bucket]) -> Svg:
    """Check-ins per 10 minutes, by minutes from the start."""
    labels = [f"{b.minute:+d}" if b.minute else "0" for b in buckets]
    busiest = max(buckets, key=lambda b: b.count, default=None)
    peak = f" Busiest: {busiest.count:,} from minute {busiest.minute:+d}." if busiest else ""
    return bar_chart(
        "arrivals",
        "Arrivals: check-ins per 10 minutes",
        f"{sum(b.count for b in buckets):,} check-ins.{peak}",
        labels,
        [Series("Check-ins", [b.count for b in buckets], GREEN)],
        "Minutes from the start (each bar: 10 minutes)",
        "Check-ins",
    )


def distribution_chart(distribution: Sequence[tuple[int, int]]) -> Svg:
    """How many attendees made 0, 1, 2 … connections (a bar for every count up to the most)."""
    counts = dict(distribution)
    most = max(counts, default=0)
    return bar_chart(
        "distribution",
        "Connections per attendee",
        f"{counts.get(0, 0):,} met nobody; the most anyone met: {most:,}.",
        [str(k) for k in range(most + 1)],
        [Series("Attendees", [counts.get(k, 0) for k in range(most + 1)], BLUE)],
        "People met at this meeting",
        "Attendees",
    )


def record_chart(meetings: Sequence[AttendedMeeting]) -> Svg:
    """A member's people met at each meeting they attended, oldest first."""
    ordered = sorted(meetings, key=lambda m: m.starts_at)
    return bar_chart(
        "record",
        "People you met at each meeting",
        f"{len(ordered)} meetings; {sum(len(m.met) for m in ordered):,} people met in all.",
        [_day(m.starts_at, None) for m in ordered],
        [
            Series("People met", [len(m.met) for m in ordered], BLUE),
            Series("Met again later", [sum(p.met_again for p in m.met) for m in ordered], GREEN),
        ],
        "Meeting date",
        "People",
    )
