"""Organiser pages: groups and their members."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ...models import utcnow
from ...services import access, groups, meetings, members
from ...services.errors import DomainError
from ...transaction import atomic
from ..forms import uploaded_text
from . import bp
from .forms import GroupForm, ImportForm, MemberForm


@bp.route("/groups/new", methods=["GET", "POST"])
def new_group():
    form = GroupForm()
    form.timezone.choices = groups.timezone_choices()
    if form.validate_on_submit():
        with atomic():
            group = groups.create_group(
                current_user, form.name.data, form.description.data, form.timezone.data
            )
        flash(f"Group “{group.name}” created. Add members, then plan a meeting.", "success")
        return redirect(url_for(".group", group_id=group.id))
    return render_template("organiser/group_new.html", form=form)


@bp.get("/groups/<int:group_id>")
def group(group_id: int):
    group = access.organised_group(current_user, group_id)
    now = utcnow()
    return render_template(
        "organiser/group.html",
        group=group,
        upcoming=meetings.upcoming(group, now),
        past=meetings.past(group, now),
        members=members.member_views(group),
        member_form=MemberForm(),
        import_form=ImportForm(),
    )


@bp.post("/groups/<int:group_id>/members")
def add_member(group_id: int):
    group = access.organised_group(current_user, group_id)
    form = MemberForm()
    if form.validate_on_submit():
        try:
            with atomic():
                membership, created = groups.add_member(
                    group,
                    form.name.data,
                    form.email.data,
                    form.company.data,
                    added_by=current_user,
                    now=utcnow(),
                )
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            # Only what the organiser typed: never the account's own name.
            if created:
                flash(f"{membership.typed_name} added. We emailed them to say so.", "success")
            else:
                flash(f"{membership.user.email} was already a member.", "success")
            return redirect(url_for(".group", group_id=group.id) + "#members")
    for field, errors in form.errors.items():
        for error in errors:
            flash(f"{getattr(form, field).label.text}: {error}", "error")
    return redirect(url_for(".group", group_id=group.id) + "#members")


@bp.post("/groups/<int:group_id>/members/import")
def import_members(group_id: int):
    group = access.organised_group(current_user, group_id)
    form = ImportForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(url_for(".group", group_id=group.id) + "#import")
    text = uploaded_text(form.file.data)
    with atomic():  # a file with an error changes nothing (groups.import_members_csv)
        result = groups.import_members_csv(group, text, added_by=current_user, now=utcnow())
    if result.errors:
        return render_template(
            "organiser/import_errors.html", group=group, errors=result.errors
        ), 422
    flash(f"Imported: {result.added} new, {result.existing} already members.", "success")
    return redirect(url_for(".group", group_id=group.id) + "#members")
