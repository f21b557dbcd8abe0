"""People you didn't get to meet: scored and explained by ``services.suggestions``, the one
definition of "a good match"; the index here only narrows 2,000 attendees down to the few that
can score at all."""

from collections import Counter, defaultdict
from dataclasses import dataclass

from ...models import User
from .. import suggestions

SUGGESTIONS = 5
SHORTLIST = 5  # candidates re-scored per suggestion shown: the tally only approximates score


@dataclass
class Suggestion:
    user_id: int
    name: str
    headline: str
    company: str
    score: float
    reasons: list[str]


class SuggestionRanker:
    """Ranks consenting attendees for each member; an index skips pairs that cannot score."""

    def __init__(self, candidates: list[User]):
        self.users = {u.id: u for u in candidates}
        self.people = {u.id: suggestions.person(u) for u in candidates}
        self.by_offer, self.by_ask, self.by_interest = (defaultdict(set) for _ in range(3))
        for u in candidates:
            for index, text in (
                (self.by_offer, u.offers),
                (self.by_ask, u.asks),
                (self.by_interest, u.interests),
            ):
                for word in suggestions.terms(text):
                    index[word].add(u.id)

    def best_for(self, me: User, exclude: set[int], limit: int = SUGGESTIONS) -> list[Suggestion]:
        # Only someone sharing a term can score above zero: tally those through the index.
        tally: Counter[int] = Counter()
        for text, index, weight in (
            (me.asks, self.by_offer, suggestions.ASK_WEIGHT),
            (me.offers, self.by_ask, suggestions.OFFER_WEIGHT),
            (me.interests, self.by_interest, suggestions.INTEREST_WEIGHT),
        ):
            for word in suggestions.terms(text):
                for uid in index.get(word, ()):
                    tally[uid] += weight
        for uid in exclude | {me.id}:
            tally.pop(uid, None)
        shortlist = [self.people[uid] for uid, _ in tally.most_common(limit * SHORTLIST)]
        best = []
        for s in suggestions.rank(suggestions.person(me), shortlist):
            if s.score <= 0 or len(best) == limit:
                break
            u = self.users[s.user_id]
            best.append(Suggestion(u.id, u.name, u.headline, u.company, s.score, s.why))
        return best
