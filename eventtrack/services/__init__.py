"""Domain logic: plain functions taking models/ids, the actor and ``now``.

Services never read ``flask.request``, ``session``, ``g`` or ``current_user``; the pages, the API
and the CLI all call them, so each rule has exactly one implementation.
"""
