"""The two links of the "you were added to a group" mail: leave, or show my profile.

No sign-in: the signed token in the link was sent only to the member's inbox (see
``services.members``). A bad, expired or out-of-date token is a 404.
"""

from flask import Blueprint, abort, render_template, request

from ...models import utcnow
from ...services import members
from ...services.errors import DomainError
from ...transaction import atomic
from .forms import AcceptForm, LeaveForm

bp = Blueprint("membership", __name__, url_prefix="/membership")


def _page(membership, status: int = 200, error: str = ""):
    action = request.args.get("action")
    return render_template(
        "membership/show.html",
        token=request.view_args["token"],
        membership=membership,
        person=members.person(membership.group_id, membership.user_id),
        action=action if action in ("leave", "accept") else "",
        error=error,
        leave_form=LeaveForm(),
        accept_form=AcceptForm(),
    ), status


@bp.get("/<token>")
def show(token: str):
    return _page(members.membership_for_token(token))


@bp.post("/<token>/leave")
def leave(token: str):
    membership = members.membership_for_token(token)
    if not LeaveForm().validate_on_submit():
        abort(400)
    group_name, email = membership.group.name, membership.user.email
    try:
        with atomic():
            members.leave(membership)
    except DomainError as exc:
        return _page(membership, exc.status, exc.message)
    return render_template("membership/left.html", group_name=group_name, email=email)


@bp.post("/<token>/accept")
def accept(token: str):
    membership = members.membership_for_token(token)
    if not AcceptForm().validate_on_submit():
        abort(400)
    with atomic():
        members.accept(membership, utcnow())
    return render_template("membership/accepted.html", group_name=membership.group.name)
