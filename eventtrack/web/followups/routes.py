"""After the meeting (issue #5): follow-up lists, states, goals, vCards; organiser counts."""

from collections.abc import Callable

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ...extensions import db
from ...models import Meeting, utcnow
from ...services import access, followup_mail, followups, vcard
from ...services.errors import DomainError, NotFound
from ...transaction import atomic
from ..actor import member_at, require_member_at
from ..auth.routes import safe_next
from .forms import GoalAnswerForm, GoalForm, PromiseForm, QueueForm, StateForm

bp = Blueprint("followups", __name__)


def _meeting(meeting_id: int) -> tuple[Meeting, object]:
    """The meeting and who acts there: the signed-in member, or this meeting's pass holder."""
    me = require_member_at(meeting_id)
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("meeting")
    return meeting, me


def _back(meeting_id: int, anchor: str = ""):
    default = url_for(".meeting_list", meeting_id=meeting_id) + anchor
    # Forms embedded elsewhere (the pass page) come back to where they were, if on this site.
    target = request.form.get("next") or ""
    return redirect(target if target and safe_next(target) == target else default)


def _flash_form_errors(form) -> None:
    for name, errors in form.errors.items():
        label = getattr(getattr(form, name, None), "label", None)
        flash(f"{label.text if label else name}: {' '.join(errors)}", "error")


def _save(action: Callable[[], object], success: str | None = None) -> None:
    """Run ``action`` in one transaction; flash ``success``, or what was wrong with the input.
    A 404 (not your person, not your meeting) stays a 404."""
    try:
        with atomic():
            action()
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    else:
        if success:
            flash(success, "success")


@bp.app_context_processor
def goal_prompt_helper():
    """``followup_goal_prompt(reg)`` for templates/followups/_goal_prompt.html (pass page)."""

    def followup_goal_prompt(reg):
        me = member_at(reg.meeting_id)
        if me is None or me.id != reg.user_id:
            return None
        return {
            "goal": followups.goal_for(reg.meeting, me),
            "ask": followups.goal_to_ask(reg.meeting, me),
            "goal_form": GoalForm(),
            "answer_form": GoalAnswerForm(),
        }

    return {"followup_goal_prompt": followup_goal_prompt}


@bp.get("/f/<int:meeting_id>")
def meeting_list(meeting_id: int):
    meeting, me = _meeting(meeting_id)
    lst = followups.followup_list(meeting, me)
    return render_template(
        "followups/list.html",
        meeting=meeting,
        lst=lst,
        today=followups.local_today(meeting, utcnow()),
        state_form=StateForm(),
        promise_form=PromiseForm(),
        goal_form=GoalForm(text=lst.goal.text if lst.goal else ""),
        answer_form=GoalAnswerForm(),
    )


@bp.get("/f/<int:meeting_id>/contacts.vcf")
def contacts_vcf(meeting_id: int):
    meeting, me = _meeting(meeting_id)
    lst = followups.followup_list(meeting, me)
    return Response(
        vcard.vcard(lst.shared, meeting),
        mimetype="text/vcard",
        headers={
            "Content-Disposition": f'attachment; filename="contacts-meeting-{meeting.id}.vcf"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.post("/f/<int:meeting_id>/people/<int:other_id>/state")
def set_state(meeting_id: int, other_id: int):
    meeting, me = _meeting(meeting_id)
    followups.attended(meeting, me)
    form = StateForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
    else:
        _save(
            lambda: followups.set_state(
                meeting, me, other_id, form.state.data, utcnow(), form.snoozed_until.data
            )
        )
    return _back(meeting.id, f"#person-{other_id}")


@bp.post("/f/<int:meeting_id>/people/<int:other_id>/promise")
def set_promise(meeting_id: int, other_id: int):
    meeting, me = _meeting(meeting_id)
    followups.attended(meeting, me)
    form = PromiseForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
    else:
        _save(
            lambda: followups.set_promise(
                meeting, me, other_id, form.promise.data, form.promise_due.data, utcnow()
            ),
            "Promise saved." if form.promise.data else "Promise cleared.",
        )
    return _back(meeting.id, f"#person-{other_id}")


@bp.post("/f/<int:meeting_id>/goal")
def set_goal(meeting_id: int):
    meeting, me = _meeting(meeting_id)
    form = GoalForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
    else:
        _save(
            lambda: followups.set_goal(meeting, me, form.text.data, utcnow()),
            "Goal saved. We'll ask you about it next time.",
        )
    return _back(meeting.id, "#goal")


@bp.post("/f/<int:meeting_id>/goals/<int:goal_id>/answer")
def answer_goal(meeting_id: int, goal_id: int):
    meeting, me = _meeting(meeting_id)
    form = GoalAnswerForm()
    if not form.validate_on_submit():
        _flash_form_errors(form)
    else:
        with atomic():
            followups.answer_goal(goal_id, me, form.outcome.data, meeting, utcnow())
        flash("Thanks, noted.", "success")
    return _back(meeting.id, "#goal")


@bp.get("/organise/meetings/<int:meeting_id>/followups")
@login_required
def organiser_summary(meeting_id: int):
    meeting = access.organised_meeting(current_user, meeting_id)
    return render_template(
        "followups/organiser.html",
        meeting=meeting,
        summary=followups.summary(meeting),
        form=QueueForm(),
        now=utcnow(),
    )


@bp.post("/organise/meetings/<int:meeting_id>/followups/queue")
@login_required
def queue_now(meeting_id: int):
    meeting = access.organised_meeting(current_user, meeting_id)
    form = QueueForm()
    if form.validate_on_submit():
        try:
            with atomic():
                queued = followup_mail.queue_followups(meeting, utcnow(), ignore_delay=True)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            if queued:
                flash(f"{queued} follow-up email{'s' if queued != 1 else ''} queued.", "success")
            else:
                flash("Nothing new to queue: everyone's follow-up is already queued.", "info")
    return redirect(url_for(".organiser_summary", meeting_id=meeting.id))
