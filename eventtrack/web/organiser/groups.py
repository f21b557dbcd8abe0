"""Organiser pages: groups (new, page, edit, archive) and their members (add, import, search,
edit, remove, the organiser role, CSV).

A member is named in URLs by the group and their user id, and looked up within a group the
actor organises (``access.organised_group`` then ``groups.membership_in``): another group's
ids answer 404.
"""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...models import utcnow
from ...models.vocabularies import Role
from ...services import access, exports, groups, meetings, members
from ...services.errors import DomainError
from ...transaction import atomic
from ..downloads import csv_download
from ..forms import ActionForm, uploaded_text
from . import bp
from .forms import GroupEditForm, GroupForm, ImportForm, MemberEditForm, MemberForm


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


def _group_page(group, member_form: MemberForm | None = None, status: int = 200):
    now = utcnow()
    page = members.member_page(
        group, request.args.get("q", ""), request.args.get("page", 1, type=int)
    )
    return render_template(
        "organiser/group.html",
        group=group,
        upcoming=meetings.upcoming(group, now),
        past=meetings.past(group, now),
        members=page,
        member_form=member_form or MemberForm(),
        import_form=ImportForm(),
        action_form=ActionForm(),
    ), status


@bp.get("/groups/<int:group_id>")
def group(group_id: int):
    return _group_page(access.organised_group(current_user, group_id))


@bp.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
def edit_group(group_id: int):
    group = access.organised_group(current_user, group_id)
    form = GroupEditForm(obj=group if request.method == "GET" else None)
    form.timezone.choices = groups.timezone_choices()
    if request.method == "GET":
        form.timezone.data = group.default_timezone
    if form.validate_on_submit():
        try:
            with atomic():
                groups.update_group(
                    group, form.name.data, form.description.data or "", form.timezone.data
                )
        except DomainError as exc:
            getattr(form, exc.field or "name", form.name).errors.append(exc.message)
        else:
            flash("Group saved.", "success")
            return redirect(url_for(".group", group_id=group.id))
    status = 422 if form.errors else 200
    return render_template(
        "organiser/group_edit.html", group=group, form=form, action_form=ActionForm()
    ), status


@bp.post("/groups/<int:group_id>/archive")
def archive_group(group_id: int):
    group = access.organised_group(current_user, group_id)
    if ActionForm().validate_on_submit():
        with atomic():
            groups.archive_group(group, utcnow())
        flash(f"{group.name} is archived: it is kept, with its history, under Archived.", "success")
    return redirect(url_for(".home"))


@bp.post("/groups/<int:group_id>/unarchive")
def unarchive_group(group_id: int):
    group = access.organised_group(current_user, group_id)
    if ActionForm().validate_on_submit():
        with atomic():
            groups.unarchive_group(group)
        flash(f"{group.name} is back among your groups.", "success")
    return redirect(url_for(".group", group_id=group.id))


@bp.post("/groups/<int:group_id>/members")
def add_member(group_id: int):
    """Add one member; a problem is shown next to its field, with what was typed kept (422)."""
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
            getattr(form, exc.field or "email", form.email).errors.append(exc.message)
        else:
            # Only what the organiser typed: never the account's own name.
            if created:
                flash(f"{membership.typed_name} added. We emailed them to say so.", "success")
            else:
                flash(f"{membership.user.email} was already a member.", "success")
            return redirect(url_for(".group", group_id=group.id) + "#members")
    return _group_page(group, member_form=form, status=422)


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


@bp.get("/groups/<int:group_id>/members.csv")
def members_csv(group_id: int):
    group = access.organised_group(current_user, group_id)
    return csv_download(exports.members_csv(group), exports.members_filename(group))


def _member(group_id: int, user_id: int):
    group = access.organised_group(current_user, group_id)
    return groups.membership_in(group, user_id)


def _member_url(membership) -> str:
    return url_for(".edit_member", group_id=membership.group_id, user_id=membership.user_id)


@bp.route("/groups/<int:group_id>/members/<int:user_id>", methods=["GET", "POST"])
def edit_member(group_id: int, user_id: int):
    """One member: the name and company the organiser typed, the organiser role, removal."""
    membership = _member(group_id, user_id)
    typed = {"name": membership.typed_name, "company": membership.typed_company}
    form = MemberEditForm(data=typed if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            with atomic():
                groups.edit_member(membership, form.name.data, form.company.data or "")
        except DomainError as exc:
            getattr(form, exc.field or "name", form.name).errors.append(exc.message)
        else:
            flash("Saved.", "success")
            return redirect(_member_url(membership))
    return render_template(
        "organiser/member_edit.html",
        group=membership.group,
        membership=membership,
        member=members.member_view(membership),
        form=form,
        action_form=ActionForm(),
    ), 422 if form.errors else 200


def _set_role(group_id: int, user_id: int, role: Role):
    membership = _member(group_id, user_id)
    if not ActionForm().validate_on_submit():
        return redirect(_member_url(membership))
    label = members.member_view(membership).user.label
    try:
        with atomic():
            groups.set_role(membership, role)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(_member_url(membership))
    if role == Role.ORGANISER:
        flash(f"{label} is now an organiser of {membership.group.name}.", "success")
    elif user_id == current_user.id:
        flash(f"You are no longer an organiser of {membership.group.name}.", "success")
        return redirect(url_for(".home"))
    else:
        flash(f"{label} is no longer an organiser.", "success")
    return redirect(_member_url(membership))


@bp.post("/groups/<int:group_id>/members/<int:user_id>/give-organiser-role")
def give_organiser_role(group_id: int, user_id: int):
    return _set_role(group_id, user_id, Role.ORGANISER)


@bp.post("/groups/<int:group_id>/members/<int:user_id>/take-organiser-role")
def take_organiser_role(group_id: int, user_id: int):
    return _set_role(group_id, user_id, Role.MEMBER)


@bp.route("/groups/<int:group_id>/members/<int:user_id>/remove", methods=["GET", "POST"])
def remove_member(group_id: int, user_id: int):
    """Ask first (GET), then take the person out of the group (POST); their history stays."""
    membership = _member(group_id, user_id)
    group, member = membership.group, members.member_view(membership)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            with atomic():
                groups.remove_member(membership)
        except DomainError as exc:
            flash(exc.message, "error")
            return redirect(_member_url(membership))
        if user_id == current_user.id:
            flash(f"You left {group.name}.", "success")
            return redirect(url_for(".home"))
        flash(f"{member.user.label} was removed from {group.name}.", "success")
        return redirect(url_for(".group", group_id=group.id) + "#members")
    return render_template(
        "organiser/member_remove.html", group=group, member=member, action_form=form
    )
