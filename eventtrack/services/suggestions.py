"""Who to meet next: a pure ranking over plain data, plus one thin function that reads it.

``rank`` knows nothing of the database, so its rules are unit-tested directly: what I ask for
against what they offer (and the reverse), shared interests, newcomers lifted up, and nobody I
have already met in this group. Every suggestion carries a short human "why".
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import or_, select

from ..extensions import db
from ..models import Connection, Meeting, User
from .connections import attending, checked_in_users, newcomer_ids

ASK_WEIGHT = 3.0  # they offer what I ask for: the reason people come
OFFER_WEIGHT = 2.0  # they ask for what I offer: I can help them
INTEREST_WEIGHT = 1.0  # per shared interest, up to MAX_INTERESTS
MAX_INTERESTS = 3
NEWCOMER_BONUS = 1.5  # a first-timer with nothing in common still beats one shared interest
MAX_PHRASE = 60

# Words that carry no topic of their own in "I'm looking for …" / "I can help with …".
_STOP = """a an and any are as at be by for from get getting have help i in into is it looking
me more my of on or our some someone something the their them to up us want we who with you your"""
STOP_WORDS = frozenset(_STOP.split())  # noqa: SIM905
_PHRASE_SPLIT = re.compile(r"[,;\n/&+]|\band\b|\bor\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


@dataclass(frozen=True)
class Person:
    """What the ranking needs to know about someone: free text as they typed it."""

    user_id: int
    name: str
    asks: str = ""
    offers: str = ""
    interests: str = ""
    newcomer: bool = False


@dataclass
class Suggestion:
    user_id: int
    name: str
    score: float
    why: list[str] = field(default_factory=list)
    newcomer: bool = False


def stem(word: str) -> str:
    """Light stemming, enough for "investors"/"investor", "mentoring"/"mentor", "code"/"coding"."""
    word = word.replace("-", "").replace("'", "")
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and len(word) > 3 and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
        if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "ls":
            word = word[:-1]  # running → run
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]  # code, coding → cod
    return word


def terms(text: str) -> frozenset[str]:
    """The stemmed content words of ``text``, lower-cased, without stop words."""
    return frozenset(
        stem(w) for w in _WORD.findall((text or "").lower()) if w not in STOP_WORDS and len(w) > 1
    )


@lru_cache(maxsize=8192)
def phrases(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """Split free text into (phrase as typed, its terms) on commas, semicolons, "and"…

    Cached: ranking a meeting's attendees reads the same few profiles thousands of times.
    """
    out = []
    for raw in _PHRASE_SPLIT.split(text or ""):
        phrase = " ".join(raw.split()).strip(" .!-")
        found = terms(phrase)
        if found:
            out.append((phrase[:MAX_PHRASE], found))
    return tuple(out)


def _first_name(name: str) -> str:
    parts = (name or "").split()
    return parts[0] if parts else "They"


def _inline(phrase: str) -> str:
    """ "Intros to investors" → "intros to investors" inside a sentence; "AI" stays "AI"."""
    if len(phrase) > 1 and phrase[0].isupper() and phrase[1].islower():
        return phrase[0].lower() + phrase[1:]
    return phrase


def _best_matches(wanted: str, supplied: str) -> tuple[float, str, str]:
    """How well ``supplied`` covers ``wanted``: (score, best wanted phrase, best supplied one).

    Each wanted phrase counts once, by the share of its terms found in the best supplied phrase.
    """
    total, best = 0.0, (0.0, "", "")
    supply = phrases(supplied)
    for want_text, want_terms in phrases(wanted):
        top = (0.0, "")
        for give_text, give_terms in supply:
            share = len(want_terms & give_terms) / len(want_terms)
            if share > top[0]:
                top = (share, give_text)
        total += top[0]
        if top[0] > best[0]:
            best = (top[0], want_text, top[1])
    return total, best[1], best[2]


def score(me: Person, them: Person) -> Suggestion:
    """Score one candidate for ``me`` and say why in a few words."""
    first = _first_name(them.name)
    why = []
    they_help, _, their_offer = _best_matches(me.asks, them.offers)
    i_help, their_ask, _ = _best_matches(them.asks, me.offers)
    mine = phrases(me.interests)
    shared = [text for text, found in phrases(them.interests) if any(found & m for _, m in mine)][
        :MAX_INTERESTS
    ]
    if they_help:
        why.append(f"{first} offers {_inline(their_offer)} — you asked for that")
    if i_help:
        why.append(f"{first} is looking for {_inline(their_ask)} — you offer that")
    if shared:
        why.append("You both like " + ", ".join(_inline(s) for s in shared))
    if them.newcomer:
        why.append(f"First time here — {first} is new to the group")
    if not why:
        why.append("You haven't met yet")
    total = (
        ASK_WEIGHT * they_help
        + OFFER_WEIGHT * i_help
        + INTEREST_WEIGHT * len(shared)
        + (NEWCOMER_BONUS if them.newcomer else 0.0)
    )
    return Suggestion(them.user_id, them.name, round(total, 3), why, them.newcomer)


def rank(
    me: Person,
    candidates: Iterable[Person],
    met: Iterable[int] = (),
    limit: int | None = None,
) -> list[Suggestion]:
    """Rank ``candidates`` for ``me``, best first, leaving out me and everyone in ``met``."""
    skip = set(met) | {me.user_id}
    ranked = sorted(
        (score(me, c) for c in candidates if c.user_id not in skip),
        key=lambda s: (-s.score, s.name.casefold(), s.user_id),
    )
    return ranked if limit is None else ranked[:limit]


def person(user: User, newcomer: bool = False) -> Person:
    return Person(user.id, user.name, user.asks, user.offers, user.interests, newcomer)


def who_to_meet(meeting: Meeting, viewer: User, limit: int = 5) -> list[Suggestion]:
    """People checked in at ``meeting`` whom ``viewer`` never met in its group, best first."""
    if attending(meeting, viewer) is None:
        return []
    here = db.session.scalars(checked_in_users(meeting))
    group_meetings = select(Meeting.id).where(Meeting.group_id == meeting.group_id)
    met_rows = db.session.execute(
        select(Connection.user_a_id, Connection.user_b_id).where(
            Connection.meeting_id.in_(group_meetings),
            or_(Connection.user_a_id == viewer.id, Connection.user_b_id == viewer.id),
        )
    )
    met = {b if a == viewer.id else a for a, b in met_rows}
    newcomers = newcomer_ids(meeting)
    candidates = [person(u, u.id in newcomers) for u in here]
    return rank(person(viewer), candidates, met, limit)
