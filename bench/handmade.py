"""Benchmark: the two hand-made writers against the libraries they replace.

    python -m bench.handmade [--rounds 7] [--seconds 0.4]

- MIME: ``services.outbox.mime.build_message`` against the standard library's
  ``email.message.EmailMessage`` (``policy.SMTP``, ``as_bytes()``) building the same message:
  same headers, text + HTML alternative + attachments, UTF-8 in base64. Two messages of ours: a
  follow-up (20 people met, a vCard attached, unsubscribe headers; the size
  ``bench.followups`` sends) and a sign-in link (small, no attachment).
- vCard: ``services.vcard.vcard`` against ``vobject`` (``vCard()`` … ``serialize()``) for the
  same people (20 met, 2 in 3 sharing their details). vobject is only a test dependency: where
  it is missing this half is skipped, and says so.

Both sides are checked to produce the same content (parsed back with ``email`` and ``vobject``)
before they are timed (and by tests/services/test_outbox.py and test_vcard.py). Each round
times both sides in turn for about ``--seconds`` each; machines are noisy, so each comparison
prints the range of its per-round ratios and their median. The docstrings of
``services/outbox/mime.py`` and ``services/vcard.py`` quote the range of those medians over
several runs.
"""

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from types import SimpleNamespace

from eventtrack.models import Meeting
from eventtrack.services.followups import Person
from eventtrack.services.outbox.mime import build_message
from eventtrack.services.vcard import vcard

try:
    import vobject
except ImportError:  # a test dependency only: see the module docstring
    vobject = None

SENDER = "eventtrack <noreply@eventtrack.example>"
NOW = datetime(2026, 12, 2, 18, 30, tzinfo=UTC)
NAMES = ["Zoë Ångström", "Carl Meyer", "Łucja Nowak", "Ana María Núñez", "Kenji Sato"]


def people(n: int = 20) -> list[Person]:
    """Everyone a member met at a busy meeting; two in three share their details."""
    out = []
    for i in range(n):
        shared = i % 3 != 0
        name = f"{NAMES[i % len(NAMES)]} {i}"
        out.append(
            Person(
                user_id=i,
                name=name,
                headline="Founder, product and growth; hiring engineers",
                company=f"Company {i}, GmbH",
                linkedin_url=f"https://www.linkedin.com/in/member{i}",
                note="Wants an intro to our designer.\nSend the slides; ask about Q3." * (i % 2),
                shared=shared,
                email=f"member{i}@example.com" if shared else None,
                phone=f"+49 30 {i:07d}" if shared else None,
            )
        )
    return out


def meeting() -> Meeting:
    return Meeting(title="Berlin Product Circle: December", starts_at=NOW, timezone="Europe/Berlin")


def followup_row(met: list[Person], card: str) -> SimpleNamespace:
    """A queued follow-up as the outbox stores it (bodies about as large as the real ones)."""
    text = "\n\n".join(
        f"{p.name}\n{p.headline} · {p.company}\n{p.email or ''} {p.phone or ''}\n"
        f"Your note: {p.note or '—'}\nFollow up: https://eventtrack.example/f/{p.user_id}"
        for p in met
    )
    html = "".join(
        f'<tr><td><strong class="name">{p.name}</strong><br><span>{p.headline}</span>'
        f'<br><span class="company">{p.company}</span></td><td><a href="mailto:{p.email}">'
        f'{p.email}</a><br>{p.phone}</td><td class="note">{p.note or "—"}</td><td><a '
        f'class="button" href="https://eventtrack.example/f/{p.user_id}">Mark done</a></td></tr>'
        for p in met
    )
    return SimpleNamespace(
        recipient="zoe@example.com",
        recipient_name="Zoë Ångström",
        subject="Your follow-ups from Berlin Product Circle: December — 20 people",
        message_id="<0123456789abcdef0123456789abcdef@eventtrack.example>",
        created_at=NOW,
        headers={
            "List-Unsubscribe": "<https://eventtrack.example/unsubscribe/abcdefghijklmnop>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        body_text="Hello Zoë,\n\nthe people you met:\n\n" + text,
        body_html=f"<html><body><table>{html * 2}</table></body></html>",
        attachments=[{"filename": "contacts.vcf", "content_type": "text/vcard", "content": card}],
    )


def signin_row() -> SimpleNamespace:
    link = "https://eventtrack.example/login/link/" + "x" * 43
    return SimpleNamespace(
        recipient="carl@example.com",
        recipient_name="Carl Meyer",
        subject="Your sign-in link for eventtrack",
        message_id="<fedcba9876543210fedcba9876543210@eventtrack.example>",
        created_at=NOW,
        headers={},
        body_text=f"Hello Carl,\n\nsign in with this link (valid 15 minutes):\n\n{link}\n",
        body_html=f"<p>Hello Carl,</p><p><a href='{link}'>Sign in</a> (15 minutes).</p>" * 4,
        attachments=[],
    )


def build_with_stdlib(row, sender: str) -> bytes:
    """The same message through ``email.message.EmailMessage``: what we would write instead."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["To"] = Address(row.recipient_name, addr_spec=row.recipient)
    msg["Subject"] = row.subject
    msg["Message-ID"] = row.message_id
    msg["Date"] = row.created_at
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in row.headers.items():
        msg[name] = value
    msg.set_content(row.body_text, cte="base64")
    if row.body_html:
        msg.add_alternative(row.body_html, subtype="html", cte="base64")
    for att in row.attachments:
        subtype = att["content_type"].partition("/")[2]
        msg.add_attachment(att["content"], subtype=subtype, filename=att["filename"], cte="base64")
    return msg.as_bytes()


def vcard_with_vobject(met: list[Person], where: Meeting) -> str:
    """The same cards through ``vobject``: what we would write instead."""
    when = where.local(where.starts_at).strftime("%d %b %Y")
    out = []
    for p in met:
        if not p.shared:
            continue
        given, _, family = p.name.strip().rpartition(" ")
        if not given:
            given, family = family, ""
        card = vobject.vCard()
        card.add("fn").value = p.name
        card.add("n").value = vobject.vcard.Name(family=family, given=given)
        if p.company:
            card.add("org").value = [p.company]
        if p.headline:
            card.add("title").value = p.headline
        if p.email:
            email = card.add("email")
            email.value, email.type_param = p.email, "INTERNET"
        if p.phone:
            tel = card.add("tel")
            tel.value, tel.type_param = p.phone, "CELL"
        if p.linkedin_url:
            card.add("url").value = p.linkedin_url
        note = f"Met at {where.title}, {when}." + (f"\n{p.note}" if p.note else "")
        card.add("note").value = note
        out.append(card.serialize())
    return "".join(out)


def lines(text: str) -> str:
    # EmailMessage writes the text's line ends as CRLF and ends it with one; ours sends the
    # text as it is. The same text either way.
    return text.replace("\r\n", "\n").removesuffix("\n")


def same_message(ours: bytes, theirs: bytes) -> None:
    a, b = (message_from_bytes(m, policy=policy.default) for m in (ours, theirs))
    for name in ("From", "To", "Subject", "Message-ID", "Date", "List-Unsubscribe"):
        assert str(a[name]) == str(b[name]), name
    for kind in (("plain",), ("html",)):
        assert lines(a.get_body(kind).get_content()) == lines(b.get_body(kind).get_content())
    attachments = [
        [
            (x.get_filename(), x.get_content_type(), lines(x.get_content()))
            for x in m.iter_attachments()
        ]
        for m in (a, b)
    ]
    assert attachments[0] == attachments[1]


def same_cards(ours: str, theirs: str) -> None:
    def fields(text):
        return [
            {
                key: [str(line.value) for line in lines]
                for key, lines in card.contents.items()
                if key != "version"
            }
            for card in vobject.readComponents(text)
        ]

    assert fields(ours) == fields(theirs)


def per_call(fn, seconds: float) -> float:
    """Seconds per call of ``fn``, run for about ``seconds``."""
    n, start = 0, time.perf_counter()
    while True:
        for _ in range(10):
            fn()
        n += 10
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed / n


def compare(label: str, ours, theirs, rounds: int, seconds: float) -> tuple[float, float]:
    ratios, t_ours, t_theirs = [], [], []
    per_call(ours, seconds / 4), per_call(theirs, seconds / 4)  # warm up: caches, lazy imports
    for _ in range(rounds):
        a, b = per_call(ours, seconds), per_call(theirs, seconds)
        t_ours.append(a)
        t_theirs.append(b)
        ratios.append(b / a)
    print(
        f"{label}: ours {statistics.median(t_ours) * 1e6:.0f} µs, "
        f"library {statistics.median(t_theirs) * 1e6:.0f} µs per call; "
        f"ours faster by {min(ratios):.1f}–{max(ratios):.1f}× "
        f"(median {statistics.median(ratios):.1f}×, {rounds} rounds)"
    )
    return min(ratios), max(ratios)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.4, help="per side and round")
    args = parser.parse_args(argv)
    met, where = people(), meeting()
    card = vcard(met, where)
    python = sys.version.split()[0]
    print(f"handmade writers, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {python}")

    for label, row in (("MIME follow-up", followup_row(met, card)), ("MIME sign-in", signin_row())):
        ours = build_message(row, SENDER)
        same_message(ours, build_with_stdlib(row, SENDER))
        print(f"{label}: {len(ours) / 1024:.1f} KiB as sent")
        compare(
            f"{label} vs email.message.EmailMessage",
            lambda row=row: build_message(row, SENDER),
            lambda row=row: build_with_stdlib(row, SENDER),
            args.rounds,
            args.seconds,
        )

    if vobject is None:
        print("vCard: vobject is not installed in this environment: that half is SKIPPED.")
        return 0
    same_cards(card, vcard_with_vobject(met, where))
    shared = sum(p.shared for p in met)
    print(f"vCard: {shared} cards, {len(card.encode()) / 1024:.1f} KiB")
    compare(
        f"vCard ({shared} cards) vs vobject {getattr(vobject, 'VERSION', '')}".rstrip(),
        lambda: vcard(met, where),
        lambda: vcard_with_vobject(met, where),
        args.rounds,
        args.seconds,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
