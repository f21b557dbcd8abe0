"""One length limit per text field, read from the model: forms, the API schemas and the
services all ask here, so the three can never disagree.

A ``String(n)`` column's limit is ``n``; a ``Text`` column names its own in
``info={"max_length": n}`` (the database would take any length; people and pages would not).
"""

from sqlalchemy.orm import InstrumentedAttribute


def max_length(attr: InstrumentedAttribute) -> int:
    """The most characters the column behind ``attr`` (e.g. ``User.name``) accepts."""
    column = attr.property.columns[0]
    limit = column.info.get("max_length") or getattr(column.type, "length", None)
    if not limit:
        raise LookupError(f"{attr} has no length limit: give it info={{'max_length': n}}")
    return limit
