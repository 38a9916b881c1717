"""The Alerts page's forms: filters, acting on one alert of any domain (resolve, mute), and
the rules of every domain (one form: the domain and direction come from the rule type)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.alerting.engine import Thresholds
from app.alerting.registry import DOMAIN_LABELS, RULE_TYPES
from app.forms import options
from app.models.alerting import ALERT_SEVERITIES

MUTE_CHOICES = (("1", "1 hour"), ("4", "4 hours"), ("8", "8 hours"), ("24", "24 hours"), ("72", "3 days"),
                ("168", "7 days"))


class ResolveForm(FlaskForm):
    note = TextAreaField("Resolution note", validators=[DataRequired(message="Say what was done."), Length(max=2000)])


class MuteForm(FlaskForm):
    hours = SelectField("Mute for", choices=options(MUTE_CHOICES), default="4")


STATUS_FILTERS = ("active", "open", "acknowledged", "muted", "resolved", "all")


class AlertFilterForm(FlaskForm):
    """The Alerts page's filters (GET): domain, severity, status and a target search."""

    class Meta:
        csrf = False

    domain = SelectField("Domain", validators=[Optional()])
    severity = SelectField("Severity", choices=options([("", "Any"), *((s, s) for s in ALERT_SEVERITIES)]),
                           validators=[Optional()])
    status = SelectField("Status", choices=options((s, s) for s in STATUS_FILTERS), default="active",
                         validators=[Optional()])
    target = StringField("Target", validators=[Optional(), Length(max=100)])

    def __init__(self, *args, domains: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.domain.choices = options([("", "Any"), *((d, DOMAIN_LABELS.get(d, d)) for d in domains)])


def split_names(text: str | None) -> list[str]:
    return sorted({n.strip() for n in (text or "").split(",") if n.strip()})


class AlertRuleForm(FlaskForm):
    """A rule of any registered type, for the organization, one device (device rules only) or,
    for super admins, every organization."""

    name = StringField("Name", validators=[DataRequired(), Length(max=255)])
    rule_type = SelectField("Rule type")
    scope = SelectField("Scope", default="organization")
    device_id = SelectField("Device", coerce=str, validators=[Optional()])
    severity = SelectField("Severity", choices=options((s, s) for s in ALERT_SEVERITIES), default="warning")
    threshold_value = FloatField("Threshold", validators=[Optional(), NumberRange(0, 1_000_000)])
    recovery_value = FloatField("Recovery threshold", validators=[Optional(), NumberRange(0, 1_000_000)])
    threshold_duration_seconds = IntegerField("For (seconds)", default=300, validators=[NumberRange(0, 86400)])
    cooldown_seconds = IntegerField("Cooldown (seconds)", default=3600, validators=[NumberRange(0, 604800)])
    repeat_interval_seconds = IntegerField("Repeat every (seconds)", validators=[Optional(), NumberRange(60, 604800)])
    names = StringField("Only these services or containers (comma separated)", validators=[Optional(), Length(max=1000)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    enabled = BooleanField("Enabled", default=True)
    notify = BooleanField("Notify (in-app and the organization's channels)", default=True)

    def __init__(self, *args, domains: list[str], devices=(), allow_global=False, **kwargs):
        super().__init__(*args, **kwargs)
        # Every visible domain's rule types: one rules page tunes them all (the engine is shared).
        self.rule_type.choices = options((t.name, f"{DOMAIN_LABELS.get(t.domain, t.domain)}: {t.label}")
                                         for t in sorted(RULE_TYPES.values(), key=lambda t: (t.domain, t.label))
                                         if t.available and t.domain in domains)
        scopes = [("organization", "This organization"), ("device", "One device")]
        if allow_global:
            scopes.insert(0, ("global", "Every organization (global)"))
        self.scope.choices = options(scopes)
        self.device_id.choices = options([("", "Choose a device"), *((str(i), label) for i, label in devices)])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        rule_type = RULE_TYPES.get(self.rule_type.data)
        if rule_type is None:
            return False
        if self.scope.data == "device" and not self.device_id.data:
            self.device_id.errors = [*self.device_id.errors, "Choose the device this rule is for."]
            ok = False
        if self.scope.data == "device" and rule_type.target_type != "device":
            self.scope.errors = [*self.scope.errors, "Only rules about devices can be set for one device."]
            ok = False
        if rule_type.fixed:
            self.threshold_value.data, self.recovery_value.data = 1.0, 1.0
        elif self.threshold_value.data is None:
            self.threshold_value.errors = [*self.threshold_value.errors, "Enter the threshold."]
            return False
        if rule_type.unit == "%":
            for f in (self.threshold_value, self.recovery_value):
                if f.data is not None and f.data > 100:
                    f.errors = [*f.errors, "A percentage from 0 to 100."]
                    ok = False
        problems = Thresholds(threshold=self.threshold_value.data, recovery=self.recovery_value.data,
                              for_seconds=self.threshold_duration_seconds.data or 0,
                              cooldown_seconds=self.cooldown_seconds.data or 0,
                              repeat_seconds=self.repeat_interval_seconds.data,
                              direction=rule_type.direction).problems()
        if "recovery" in problems:
            self.recovery_value.errors = [*self.recovery_value.errors, problems["recovery"]]
            ok = False
        return ok
