"""Forms of the metrics pages, with the value rules of issue 6."""

from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DecimalField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.forms import options
from app.metrics.catalog_files import FIELDS
from app.metrics.live import LIVE_QUERIES
from app.models.metrics import METRIC_DIRECTIONS, METRIC_PRIORITIES

MAX_PERCENT = Decimal(150)
CONFIRM_FACTOR = Decimal(10)
MAX_VALUE = Decimal("1e11")  # the value columns are Numeric(15, 4): 11 digits before the point


class NumberField(DecimalField):
    """A decimal that must be a finite number: Decimal reads "NaN" and "Infinity" too."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError("Enter a number.")


def too_large(value: Decimal | None) -> str | None:
    return "This value is too large (at most 99,999,999,999)." if value is not None and abs(value) >= MAX_VALUE else None


LARGE_VALUE = "This is more than 10 times the target: tick the confirmation box if it is right."


def value_problem(value: Decimal | None, unit: str | None, target: Decimal | None, confirmed: bool) -> str | None:
    """Why a value is refused: negative, a percentage over 150, or over 10x target unconfirmed."""
    if value is None:
        return None
    if value < 0:
        return "A value cannot be negative."
    if too_large(value):
        return too_large(value)
    if (unit or "").strip() in ("%", "percent", "percentage") and value > MAX_PERCENT:
        return "A percentage cannot be over 150."
    if target is not None and target > 0 and value > target * CONFIRM_FACTOR and not confirmed:
        return LARGE_VALUE
    return None


def _number(label: str):
    return NumberField(label, places=None, validators=[Optional()])


class MetricForm(FlaskForm):
    confirm_needed = False  # as on ValueForm: the confirmation box only after such a refusal
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    function_id = SelectField("CSF function", coerce=str, validators=[DataRequired()])
    category_id = SelectField("CSF category", coerce=str, validators=[Optional()])
    direction = SelectField("Direction", choices=options((d, d.replace("_", " ")) for d in METRIC_DIRECTIONS))
    current_value = _number("Current value")
    target_value = _number("Target value")
    target_lower = _number("Target range: lower bound")
    target_upper = _number("Target range: upper bound")
    unit = StringField("Unit", validators=[Optional(), Length(max=50)])
    priority = SelectField("Priority", choices=options((p, p) for p in METRIC_PRIORITIES), default="Medium")
    weight = NumberField("Weight (overrides the priority's)", places=None,
                          validators=[Optional(), NumberRange(0, 100)])
    owner_id = SelectField("Owner", coerce=str, validators=[Optional()])
    live_source = SelectField("Value source", coerce=str, validators=[Optional()])
    confirm_large = BooleanField("Yes, the value is more than 10 times the target")

    def __init__(self, *args, functions=(), categories=(), people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self._functions = {str(f.id): f for f in functions}
        self._categories = {str(c.id): c for c in categories}
        self.function_id.choices = options((str(f.id), f"{f.code} {f.name}") for f in functions)
        self.category_id.choices = options([("", "None"), *((str(c.id), f"{c.code} {c.name}") for c in categories)])
        self.owner_id.choices = options([("", "Nobody"), *((str(u.id), u.email) for u in people)])
        self.live_source.choices = options([("", "Entered by hand"),
                                            *((name, f"Live: {q.label}") for name, q in LIVE_QUERIES.items())])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        category = self._categories.get(self.category_id.data or "")
        if self.category_id.data and category is None:
            self.category_id.errors = [*self.category_id.errors, "Choose a category of the loaded framework."]
            ok = False
        if category is not None and str(category.function_id) != self.function_id.data:
            self.category_id.errors = [*self.category_id.errors, "This category belongs to another function."]
            ok = False
        direction = self.direction.data
        if direction in ("higher_is_better", "lower_is_better") and self.target_value.data is None:
            self.target_value.errors = [*self.target_value.errors, "This direction needs a target value."]
            ok = False
        if direction == "target_range":
            lower, upper = self.target_lower.data, self.target_upper.data
            if lower is None or upper is None:
                self.target_lower.errors = [*self.target_lower.errors, "A target range needs both bounds."]
                ok = False
            elif lower > upper:
                self.target_upper.errors = [*self.target_upper.errors, "The upper bound is below the lower bound."]
                ok = False
        for f in (self.target_value, self.target_lower, self.target_upper):
            if f.data is not None and f.data < 0:
                f.errors = [*f.errors, "A target cannot be negative."]
                ok = False
            elif too_large(f.data):
                f.errors = [*f.errors, too_large(f.data)]
                ok = False
        target = self.target_value.data if self.target_value.data is not None else self.target_upper.data
        problem = value_problem(self.current_value.data, self.unit.data, target, self.confirm_large.data)
        self.confirm_needed = problem == LARGE_VALUE or bool(self.confirm_large.data)
        if problem:
            self.current_value.errors = [*self.current_value.errors, problem]
            ok = False
        return ok

    def values(self) -> dict:
        return {
            "name": self.name.data.strip(), "description": self.description.data or None,
            "function_id": int(self.function_id.data),
            "category_id": int(self.category_id.data) if self.category_id.data else None,
            "direction": self.direction.data, "current_value": self.current_value.data,
            "target_value": self.target_value.data, "target_lower": self.target_lower.data,
            "target_upper": self.target_upper.data, "unit": (self.unit.data or "").strip() or None,
            "priority": self.priority.data, "weight": self.weight.data,
            "owner_id": int(self.owner_id.data) if self.owner_id.data else None,
            "live_source": self.live_source.data or None,
        }


class ValueForm(FlaskForm):
    # The confirmation box is offered only once a value has been refused for being over 10x
    # the target (or is ticked already), never before: templates show it when this is True.
    confirm_needed = False
    value = NumberField("New value", places=None, validators=[InputRequired(message="Enter a value.")])
    note = StringField("Note", validators=[Optional(), Length(max=1000)])
    confirm_large = BooleanField("Yes, the value is more than 10 times the target")

    def __init__(self, *args, metric=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._metric = metric

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self._metric is not None and self.value.data is not None:
            m = self._metric  # a range without a target value: its upper bound is the yardstick
            target = m.target_value if m.target_value is not None else m.target_upper
            problem = value_problem(self.value.data, m.unit, target, self.confirm_large.data)
            self.confirm_needed = problem == LARGE_VALUE or bool(self.confirm_large.data)
            if problem:
                self.value.errors = [*self.value.errors, problem]
                ok = False
        return ok


class CatalogUploadForm(FlaskForm):
    file = FileField("Catalog file (.csv, .json or .xlsx, at most 10 MB)", validators=[FileRequired("Choose a file.")])


class ColumnMapForm(FlaskForm):
    """Step 2 of the import: which column holds which field (name and direction required)."""

    catalog_name = StringField("Catalog name", validators=[DataRequired(), Length(max=200)])

    def __init__(self, *args, headers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = list(headers)
        self.columns = [(fld, self[f"col_{fld}"]) for fld, _label, _required in FIELDS]

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        chosen = [f.data for _, f in self.columns if f.data]
        for _, f in self.columns:
            if f.data and f.data not in self.headers:
                f.errors = [*f.errors, "Not a column of the file."]
                ok = False
            elif f.data and chosen.count(f.data) > 1:
                f.errors = [*f.errors, "This column is chosen for two fields."]
                ok = False
        return ok

    def column_map(self) -> dict[str, str]:
        return {fld: f.data for fld, f in self.columns if f.data}


def column_map_form(headers: list[str], **kwargs) -> ColumnMapForm:
    """A ColumnMapForm with one select per catalog field, offering the file's headers."""

    class Form(ColumnMapForm):
        pass

    choices = options([("", "(not in the file)"), *((h, h) for h in headers)])
    for fld, label, required in FIELDS:
        validators = [DataRequired(f"Choose the column that holds the {label.lower()}.")] if required else []
        setattr(Form, f"col_{fld}", SelectField(label, choices=choices, validators=validators, validate_choice=False))
    return Form(headers=headers, **kwargs)


class AiProviderForm(FlaskForm):
    """An OpenAI-compatible endpoint the organization may use for mapping suggestions."""

    base_url = StringField("Base URL", validators=[DataRequired(), Length(max=300)],
                           description="e.g. https://api.example.com/v1 (POST {base}/chat/completions)")
    model = StringField("Model", validators=[DataRequired(), Length(max=200)])
    api_key = PasswordField("API key", validators=[Optional(), Length(max=500)],
                            description="Stored encrypted; leave blank to keep the stored key.")
