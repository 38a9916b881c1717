"""Roadmap forms: the organization's profile and a task's status."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.forms import options
from app.models.compliance import FRAMEWORKS
from app.models.roadmap import TASK_STATUSES

SIZES = ("small", "medium", "large", "enterprise")
INDUSTRIES = ("technology", "saas", "finance", "healthcare", "retail", "ecommerce", "hospitality", "manufacturing",
              "education", "public", "other")
STATUS_LABELS = {"not_started": "Not started", "in_progress": "In progress", "completed": "Completed",
                 "skipped": "Skipped", "not_applicable": "Not applicable"}


class ProfileForm(FlaskForm):
    company_name = StringField("Company name", validators=[DataRequired(), Length(max=255)])
    company_size = SelectField("Size", choices=options((s, s.title()) for s in SIZES))
    industry = SelectField("Industry", choices=options((i, i.title()) for i in INDUSTRIES))
    employee_count = IntegerField("Employees", validators=[Optional(), NumberRange(1, 10_000_000)])
    target_security_score = IntegerField("Target score", default=75, validators=[NumberRange(1, 100)])
    handles_pii = BooleanField("Handles personal data (PII)")
    handles_payment_data = BooleanField("Handles payment card data")
    handles_health_data = BooleanField("Handles health data")
    handles_financial_data = BooleanField("Handles financial data")
    compliance_requirements = SelectMultipleField(
        "Compliance requirements", choices=options((k, v[0]) for k, v in FRAMEWORKS.items()))
    current_measures = TextAreaField("Current measures (one per line)", validators=[Optional(), Length(max=5000)])

    def values(self) -> dict:
        return {
            "company_name": self.company_name.data.strip(), "company_size": self.company_size.data,
            "industry": self.industry.data, "employee_count": self.employee_count.data,
            "target_security_score": self.target_security_score.data,
            "handles_pii": self.handles_pii.data, "handles_payment_data": self.handles_payment_data.data,
            "handles_health_data": self.handles_health_data.data,
            "handles_financial_data": self.handles_financial_data.data,
            "compliance_requirements": list(self.compliance_requirements.data or []),
            "current_measures": [m.strip() for m in (self.current_measures.data or "").splitlines() if m.strip()],
        }


class StatusForm(FlaskForm):
    status = SelectField("Status", choices=options((s, STATUS_LABELS[s]) for s in TASK_STATUSES))


class TaskForm(FlaskForm):
    """Who owns a task and the team's notes on it."""

    assigned_to_user_id = SelectField("Assignee", validators=[Optional()])
    user_notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, users=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.assigned_to_user_id.choices = options([("", "Unassigned")] + [(str(i), n) for i, n in users])

    def assignee(self) -> int | None:
        return int(self.assigned_to_user_id.data) if self.assigned_to_user_id.data else None
