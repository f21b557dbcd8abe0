"""After the meeting (issue #5): each member's follow-up list and its tracking until next time.
Contact details appear only for people who consented (``User.share_contact``); the same consent
makes someone a suggestion. Organisers only ever see counts. One module each:

- ``lists``: the follow-up list (``followup_list``, ``build_lists`` for a whole meeting);
- ``people``: the people met, as the list shows them, and the bulk reads behind it;
- ``ranking``: people you didn't get to meet (scored by ``services.suggestions``);
- ``out_of_sight``: people of the group not met at the last few meetings;
- ``states``: to do / done / snoozed, and promises;
- ``goals``: one goal per member and meeting, asked back next time;
- ``organiser_counts``: the organiser's counts and when follow-ups are due.

The emails built from these lists are ``services.followup_mail``. Services flush; the caller
commits (``transaction.atomic``).
"""

from .goals import GOAL_MAX, answer_goal, goal_for, goal_to_ask, set_goal
from .lists import FollowUpList, build_lists, followup_list
from .organiser_counts import Summary, followups_due_at, summary
from .out_of_sight import RECENT_MEETINGS, OutOfSight
from .people import (
    Person,
    attended,
    local_today,
    met_notes,
    person_of,
    states_of,
    users_by_id,
)
from .ranking import SHORTLIST, SUGGESTIONS, Suggestion, SuggestionRanker
from .states import PROMISE_MAX, set_promise, set_state

__all__ = [
    "GOAL_MAX",
    "PROMISE_MAX",
    "RECENT_MEETINGS",
    "SHORTLIST",
    "SUGGESTIONS",
    "FollowUpList",
    "OutOfSight",
    "Person",
    "Suggestion",
    "SuggestionRanker",
    "Summary",
    "answer_goal",
    "attended",
    "build_lists",
    "followup_list",
    "followups_due_at",
    "goal_for",
    "goal_to_ask",
    "local_today",
    "met_notes",
    "person_of",
    "set_goal",
    "set_promise",
    "set_state",
    "states_of",
    "summary",
    "users_by_id",
]
