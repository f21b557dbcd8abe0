import pytest
from sqlalchemy import func, select

from eventtrack.extensions import db
from eventtrack.models import Membership, OutboxMessage, User
from eventtrack.services import groups, members
from eventtrack.services.errors import Invalid
from eventtrack.transaction import atomic

COUNTED = (User, Membership, OutboxMessage)


def test_creator_becomes_organiser(make):
    owner = make.organiser()
    group = groups.create_group(owner, "  Berlin Product Circle ", "monthly", "Europe/Berlin")
    assert group.name == "Berlin Product Circle"
    [membership] = group.memberships
    assert membership.user == owner and membership.role == "organiser"


def test_unknown_timezone_is_refused(make):
    with pytest.raises(Invalid) as exc:
        groups.create_group(make.organiser(), "G", timezone="Mars/Olympus")
    assert exc.value.field == "timezone"


def test_add_member_is_idempotent_by_email(make):
    group = make.group()
    first, created = groups.add_member(group, "Ada", "ada@example.com", "Engines")
    again, created_again = groups.add_member(group, "Ada L.", "ADA@example.com")
    assert created and not created_again and first.id == again.id
    assert again.user.name == "Ada"  # an organiser cannot rename an existing person
    assert first.user.company == "Engines"


def test_add_member_rejects_bad_email(make):
    with pytest.raises(Invalid, match="not a valid email"):
        groups.add_member(make.group(), "Ada", "not-an-email")


def test_csv_import_adds_new_and_counts_existing(make):
    group = make.group()
    groups.add_member(group, "Ada", "ada@example.com")
    text = "name,email,company\nAda,ada@example.com,\nGrace Hopper,grace@example.com,Navy\n\n"
    text += "Alan Turing, ALAN@example.com\n"
    result = groups.import_members_csv(group, text)
    assert (result.added, result.existing, result.errors) == (2, 1, [])
    grace = db.session.scalar(select(User).where(User.email == "grace@example.com"))
    assert grace.company == "Navy"


def test_csv_import_with_bad_rows_imports_nothing_and_names_the_lines(make):
    group = make.group()
    before = db.session.scalar(select(func.count()).select_from(Membership))
    result = groups.import_members_csv(group, "Ada,ada@example.com\nBad,nope\nonlyname\n")
    assert result.added == 0
    assert result.errors == [
        "Line 2: 'nope' is not a valid email address.",
        "Line 3: expected name,email[,company].",
    ]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Membership)) == before


def test_csv_import_of_empty_file_says_so(make):
    result = groups.import_members_csv(make.group(), "\n\n")
    assert result.errors == ["The file has no rows of name,email[,company]."]


def _committed_rows() -> tuple[int, ...]:
    """Users, memberships and queued mails, as a connection of its own sees them."""
    with db.engine.connect() as connection:
        return tuple(
            connection.scalar(select(func.count()).select_from(model.__table__))
            for model in COUNTED
        )


def _session_rows() -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in COUNTED)


def test_an_import_that_fails_at_its_tenth_row_leaves_nothing_of_it(make, monkeypatch, now):
    organiser = make.organiser()
    group = make.group(organiser)
    text = "".join(f"Person {i},person{i}@example.com,Firm {i}\n" for i in range(1, 11))
    real_notice, noticed, seen_at_failure = members.queue_notice, [], []

    def tenth_fails(membership, added_by, now):
        # The file passed the row checks: this fails half-way, after nine were added.
        noticed.append(membership.user.email)
        if len(noticed) == 10:
            seen_at_failure.extend(_session_rows())
            raise Invalid("The tenth member could not be added.")
        real_notice(membership, added_by, now)

    monkeypatch.setattr(members, "queue_notice", tenth_fails)
    before = _committed_rows()
    with pytest.raises(Invalid, match="tenth"), atomic():
        groups.import_members_csv(group, text, added_by=organiser, now=now)
    users, memberships, mails = before
    assert seen_at_failure == [users + 10, memberships + 10, mails + 9]
    assert _committed_rows() == before
    assert _session_rows() == before
    assert db.session.scalar(select(User).where(User.email == "person1@example.com")) is None


def test_update_group_checks_like_create(make):
    group = make.group()
    groups.update_group(group, " Renamed ", "new words", "Asia/Tokyo")
    assert (group.name, group.description, group.default_timezone) == (
        "Renamed",
        "new words",
        "Asia/Tokyo",
    )
    for name, timezone, field in (("", "UTC", "name"), ("G", "Mars/Olympus", "timezone")):
        with pytest.raises(Invalid) as exc:
            groups.update_group(group, name, "", timezone)
        assert exc.value.field == field
    with pytest.raises(Invalid) as exc:
        groups.update_group(group, "G", "x" * 4001, "UTC")
    assert exc.value.field == "description"


def test_an_archived_group_takes_no_new_meetings_until_unarchived(make, now):
    from eventtrack.services.errors import DomainError

    group = make.group()
    groups.require_active(group)
    groups.archive_group(group, now)
    groups.archive_group(group, now.replace(year=now.year + 1))  # archiving twice keeps the date
    assert group.archived_at == now
    with pytest.raises(DomainError) as exc:
        groups.require_active(group)
    assert exc.value.code == "archived"
    groups.unarchive_group(group)
    assert group.archived_at is None
    groups.require_active(group)
