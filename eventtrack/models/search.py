"""Search keys: text folded so that a search matches whatever the case and the accents
("ozlem" finds "Özlem" and "ÖZLEM") on SQLite and PostgreSQL alike, in one indexed-text query.

SQLite's ``lower()`` folds ASCII only and PostgreSQL's depends on the collation, so the folding
is done here, once, when the text is written (``fold``), and a query folds what is typed the
same way and compares with ``LIKE``.
"""

import unicodedata

# Letters NFKD does not take apart into a base letter and an accent.
_LETTERS = str.maketrans({"ø": "o", "đ": "d", "ł": "l", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe"})


def fold(*parts: str | None) -> str:
    """``parts`` joined by spaces, case-folded, accents removed, spaces squeezed."""
    text = " ".join(p for p in parts if p)
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c)).translate(_LETTERS)
    return " ".join(text.split())


def like_pattern(query: str) -> str:
    """A ``LIKE … ESCAPE '\\'`` pattern matching folded text that contains ``query``."""
    folded = fold(query)
    return "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
