"""Compliance forms: start an assessment, edit a control, add evidence, link a CSF subcategory."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from app.compliance.csf import subcategory_exists
from app.compliance.frameworks import FRAMEWORKS
from app.core import linkable
from app.forms import options
from app.models.compliance import CONTROL_STATUSES

STATUS_LABELS = {"not_tested": "Not tested", "compliant": "Compliant", "partial": "Partial",
                 "non_compliant": "Non-compliant"}


class StartForm(FlaskForm):
    framework = SelectField("Framework", choices=options((k, v[0]) for k, v in FRAMEWORKS.items()))


class ControlForm(FlaskForm):
    """A control's status and ownership; `users` are the organization's (id, name) pairs."""

    status = SelectField("Status", choices=options((s, STATUS_LABELS[s]) for s in CONTROL_STATUSES))
    assigned_to_user_id = SelectField("Assignee", coerce=str, validators=[Optional()])
    next_review_date = DateField("Next review", validators=[Optional()])
    remediation_notes = TextAreaField("Remediation notes", validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, users=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.assigned_to_user_id.choices = options([("", "Unassigned")] + [(str(i), n) for i, n in users])

    def assignee(self) -> int | None:
        return int(self.assigned_to_user_id.data) if self.assigned_to_user_id.data else None


class StatusForm(FlaskForm):
    """The inline status edit on the assessment page."""

    status = SelectField("Status", choices=options((s, STATUS_LABELS[s]) for s in CONTROL_STATUSES))


class UploadForm(FlaskForm):
    file = FileField("File", validators=[FileRequired("Choose a file.")])
    title = StringField("Title", validators=[Optional(), Length(max=255)])
    evidence_date = DateField("Evidence date", validators=[Optional()])
    validity_days = IntegerField("Valid for (days)", default=90, validators=[Optional(), NumberRange(1, 3650)])


class LinkForm(FlaskForm):
    link_type = SelectField("Record type", choices=options([]))
    link_id = StringField("Record id", validators=[DataRequired(), Length(max=100)])
    title = StringField("Title", validators=[Optional(), Length(max=255)])
    validity_days = IntegerField("Valid for (days)", default=90, validators=[Optional(), NumberRange(1, 3650)])

    def __init__(self, *args, types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.link_type.choices = options(types)


class CsfLinkForm(FlaskForm):
    subcategory_code = StringField("CSF 2.0 subcategory", validators=[DataRequired(), Length(max=20)])

    def validate_subcategory_code(self, field) -> None:
        if not subcategory_exists(field.data.strip()):
            raise ValidationError("No such NIST CSF 2.0 subcategory (load the framework first).")


def evidence_forms() -> tuple[UploadForm, LinkForm]:
    """The two ways to add evidence; the link form offers every registered linkable record type."""
    types = sorted((t.name, t.label) for t in linkable.TYPES.values())
    return UploadForm(), LinkForm(types=types)
