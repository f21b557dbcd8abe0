"""The invitation page: the meeting, a sign-in link by email, and on to the member's RSVP."""

from flask import redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from ...models import User, utcnow
from ...models.limits import max_length
from ...services import access, invitations
from ...services.errors import NotFound
from ...transaction import atomic
from .. import ratelimit
from . import bp


class InviteSignInForm(FlaskForm):
    email = EmailField(
        "Your email", validators=[DataRequired(), Email(), Length(max=max_length(User.email))]
    )
    submit = SubmitField("Email me a sign-in link")


def _meeting(token: str):
    meeting = invitations.meeting_by_invite(token)
    if meeting is None:
        raise NotFound("meeting")
    return meeting


@bp.route("/<token>", methods=["GET", "POST"])
@ratelimit.mail_link
def open(token: str):  # noqa: A001  (the endpoint's name: invite.open)
    meeting = _meeting(token)
    signed_in = current_user.is_authenticated
    if signed_in and access.member_of(current_user, meeting.group_id) is not None:
        return redirect(url_for("attendee.meeting", meeting_id=meeting.id))
    form = InviteSignInForm()
    if form.validate_on_submit():
        with atomic():
            invitations.request_sign_in(
                meeting, form.email.data, utcnow(), url_for(".open", token=token)
            )
        # The same answer whether or not the address is a member: the group stays private.
        return render_template("invite/link_sent.html", meeting=meeting, email=form.email.data)
    return render_template(
        "invite/meeting.html", meeting=meeting, form=form, signed_in=signed_in, now=utcnow()
    ), 422 if form.errors else 200
