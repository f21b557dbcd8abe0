from flask_wtf import FlaskForm
from wtforms import SubmitField


class LeaveForm(FlaskForm):
    submit = SubmitField("Leave this group")


class AcceptForm(FlaskForm):
    submit = SubmitField("Show my profile to the organisers")
