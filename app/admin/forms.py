"""Admin forms: every value an administrator types is checked here.

Context a rule needs (the organization, the row being edited, the acting user) is
passed to `__init__`; the rules that need the database ask `app.admin.services`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from app.admin import services
from app.core.settings_registry import SettingSpec
from app.forms import options
from app.models.identity import ROLES, USER_STATUSES
from app.models.tenancy import ORG_TYPES, SUBSCRIPTION_TIERS
from app.permissions import ASSIGNABLE_ROLES, ROLE_LABELS

SLUG_RE = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_MESSAGE = "Use lowercase letters, digits and single hyphens (e.g. acme-west)."
# One DNS label: letters, digits, inner hyphens; the last label (TLD) starts with a letter.
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")
MAX_TAGS = 20


def email_check() -> Email:
    # Syntax only, no DNS. The reserved `.test` TLD is allowed: test and lab accounts use it.
    return Email(message="Enter a valid email address.", test_environment=True)


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def empty_to_none(value: Any) -> Any:
    return value or None


class CommaListField(StringField):
    """Typed as "a, b, c"; holds a list of distinct, trimmed items in their first order."""

    def __init__(self, *args: Any, lowercase: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lowercase = lowercase

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = valuelist[0] if valuelist else ""
        items: list[str] = []
        for part in str(raw).split(","):
            item = part.strip().lower() if self.lowercase else part.strip()
            if item and item not in items:
                items.append(item)
        self.data = items

    def _value(self) -> str:
        return ", ".join(self.data or [])


def is_domain(value: str) -> bool:
    return bool(DOMAIN_RE.match(value))


def slug_field(label: str = "Slug") -> StringField:
    return StringField(label, filters=[lower], validators=[
        DataRequired(), Length(max=100), Regexp(SLUG_RE, message=SLUG_MESSAGE)])


def country_field() -> StringField:
    return StringField("Country", filters=[upper, empty_to_none], description="Two letters, e.g. FR",
                       validators=[Optional(), Regexp(r"^[A-Z]{2}$", message="Use the two-letter country code, e.g. FR.")])


def tags_field() -> CommaListField:
    return CommaListField("Tags", description="Comma-separated", validators=[Optional()])


def check_tags(field: CommaListField) -> None:
    if len(field.data or []) > MAX_TAGS:
        raise ValidationError(f"Use at most {MAX_TAGS} tags.")
    long = [t for t in field.data or [] if len(t) > 50]
    if long:
        raise ValidationError(f"Tags are at most 50 characters: {long[0][:20]}…")


def optional_text(label: str, max_length: int, **kwargs: Any) -> StringField:
    return StringField(label, filters=[strip, empty_to_none], validators=[Optional(), Length(max=max_length)], **kwargs)


def optional_email(label: str) -> StringField:
    return StringField(label, filters=[lower, empty_to_none], validators=[
        Optional(), Length(max=255), email_check()])


# Organizations ---------------------------------------------------------------------------

class OrgForm(FlaskForm):
    """An organization's details. Admins editing their own organization get the form
    without the fields only a super admin may set (`restricted=True`)."""

    RESTRICTED = ("slug", "type", "subscription_tier", "max_seats")

    name = StringField("Name", filters=[strip], validators=[DataRequired(), Length(max=255)])
    slug = slug_field()
    type = SelectField("Type", choices=options((t, t.title()) for t in ORG_TYPES))
    primary_domain = StringField("Primary domain", filters=[lower, empty_to_none],
                                 validators=[Optional(), Length(max=255)])
    domains = CommaListField("Other domains", lowercase=True, description="Comma-separated, e.g. acme.com, acme.io")
    billing_email = optional_email("Billing email")
    technical_email = optional_email("Technical email")
    phone = optional_text("Phone", 50)
    address_line1 = optional_text("Address", 255)
    address_line2 = optional_text("Address (line 2)", 255)
    city = optional_text("City", 100)
    state = optional_text("State or region", 100)
    postal_code = optional_text("Postal code", 20)
    country = country_field()
    subscription_tier = SelectField("Subscription tier", choices=options((t, t.title()) for t in SUBSCRIPTION_TIERS))
    max_seats = IntegerField("Seats", default=10, validators=[
        InputRequired(message="Enter the number of seats."),
        NumberRange(min=1, max=100000, message="Between 1 and 100000 seats.")])
    notes = TextAreaField("Notes", filters=[strip, empty_to_none], validators=[Optional(), Length(max=5000)])
    tags = tags_field()

    def __init__(self, *args: Any, org_id: int | None = None, restricted: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.org_id = org_id
        if restricted:
            for name in self.RESTRICTED:
                del self[name]

    def validate_slug(self, field: StringField) -> None:
        problem = services.org_slug_problem(field.data, exclude_id=self.org_id)
        if problem:
            raise ValidationError(problem)

    def validate_primary_domain(self, field: StringField) -> None:
        if field.data and not is_domain(field.data):
            raise ValidationError("Enter a domain name such as example.com.")

    def validate_domains(self, field: CommaListField) -> None:
        bad = [d for d in field.data or [] if not is_domain(d)]
        if bad:
            raise ValidationError(f"Not a domain name: {', '.join(bad[:3])}.")
        if len(field.data or []) > 100:
            raise ValidationError("Use at most 100 domains.")

    def validate_tags(self, field: CommaListField) -> None:
        check_tags(field)

    def values(self) -> dict[str, Any]:
        """The submitted values, keyed like the model's columns."""
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}


class ListFilterForm(FlaskForm):
    """A search box for the organization and site lists (GET, no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = StringField("Search", filters=[strip], validators=[Optional(), Length(max=100)])


# Sites -----------------------------------------------------------------------------------

class SiteForm(FlaskForm):
    """A site of the current organization."""

    name = StringField("Name", filters=[strip], validators=[DataRequired(), Length(max=255)])
    slug = slug_field()
    address_line1 = optional_text("Address", 255)
    address_line2 = optional_text("Address (line 2)", 255)
    city = optional_text("City", 100)
    state = optional_text("State or region", 100)
    postal_code = optional_text("Postal code", 20)
    country = country_field()
    public_ip = StringField("Public IP", filters=[strip, empty_to_none], validators=[Optional(), Length(max=45)],
                            description="IPv4 or IPv6, e.g. 203.0.113.7")
    lan_subnet = StringField("LAN subnet", filters=[strip, empty_to_none], validators=[Optional(), Length(max=49)],
                             description="CIDR network, e.g. 10.20.0.0/16")
    site_contact_name = optional_text("Contact name", 255)
    site_contact_email = optional_email("Contact email")
    site_contact_phone = optional_text("Contact phone", 50)
    notes = TextAreaField("Notes", filters=[strip, empty_to_none], validators=[Optional(), Length(max=5000)])
    tags = tags_field()

    def __init__(self, *args: Any, org_id: int, site_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.org_id = org_id
        self.site_id = site_id

    def validate_slug(self, field: StringField) -> None:
        problem = services.site_slug_problem(self.org_id, field.data, exclude_id=self.site_id)
        if problem:
            raise ValidationError(problem)

    def validate_public_ip(self, field: StringField) -> None:
        if not field.data:
            return
        try:
            field.data = str(ipaddress.ip_address(field.data))
        except ValueError:
            raise ValidationError("Enter an IPv4 or IPv6 address, e.g. 203.0.113.7.") from None

    def validate_lan_subnet(self, field: StringField) -> None:
        if not field.data:
            return
        if "/" not in field.data:
            raise ValidationError("Write the network with its prefix length, e.g. 10.20.0.0/16.")
        try:
            field.data = str(ipaddress.ip_network(field.data, strict=True))
        except ValueError:
            try:
                network = ipaddress.ip_network(field.data, strict=False)
            except ValueError:
                raise ValidationError("Enter a CIDR network such as 10.20.0.0/16.") from None
            raise ValidationError(f"That address has host bits set; did you mean {network}?") from None

    def validate_tags(self, field: CommaListField) -> None:
        check_tags(field)

    def values(self) -> dict[str, Any]:
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}


# Users -----------------------------------------------------------------------------------

def role_options(actor_role: str) -> list:
    return options((r, ROLE_LABELS[r]) for r in ASSIGNABLE_ROLES.get(actor_role, ()))


class UserFilterForm(FlaskForm):
    """GET filters for the user list (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = StringField("Search", filters=[strip], validators=[Optional(), Length(max=100)],
                    description="email or name")
    role = SelectField("Role", choices=options([("", "Any role"), *((r, ROLE_LABELS[r]) for r in ROLES)]),
                       validators=[Optional()])
    status = SelectField("Status", choices=options([("", "Any status"), *((s, s.title()) for s in USER_STATUSES)]),
                         validators=[Optional()])


class UserCreateForm(FlaskForm):
    """Invite a user into the current organization; roles offered depend on the actor."""

    email = StringField("Email", filters=[lower], validators=[
        DataRequired(), Length(max=255), email_check()])
    first_name = optional_text("First name", 100)
    last_name = optional_text("Last name", 100)
    role = SelectField("Role", default="read_only", validators=[DataRequired()])

    def __init__(self, *args: Any, actor_role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = role_options(actor_role)

    def validate_email(self, field: StringField) -> None:
        if services.email_taken(field.data):
            raise ValidationError("A user with this email address already exists.")


class UserEditForm(FlaskForm):
    """A user's names and role; the role rules (self, last admin) are checked by the service."""

    first_name = optional_text("First name", 100)
    last_name = optional_text("Last name", 100)
    phone_number = optional_text("Phone", 50)
    role = SelectField("Role", validators=[DataRequired()])

    def __init__(self, *args: Any, actor_role: str, target_role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = role_options(actor_role)
        if target_role not in ASSIGNABLE_ROLES.get(actor_role, ()):
            # Show the current role (e.g. a super admin seen by an admin) without offering it.
            choices = [*options([(target_role, ROLE_LABELS[target_role])]), *choices]
        self.role.choices = choices
        self.actor_role = actor_role
        self.target_role = target_role

    def validate_role(self, field: SelectField) -> None:
        if field.data != self.target_role and field.data not in ASSIGNABLE_ROLES.get(self.actor_role, ()):
            raise ValidationError("Your role cannot grant that role.")


# Settings --------------------------------------------------------------------------------

class SettingForm(FlaskForm):
    """One setting's value, checked against its type in the registry."""

    value = StringField("Value")

    def __init__(self, *args: Any, spec: SettingSpec, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.parsed: Any = None

    def validate_value(self, field: StringField) -> None:
        try:
            self.parsed = self.spec.parse(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        problem = self.spec.check(self.parsed) if self.spec.check else None
        if problem:
            raise ValidationError(problem)


class ChoiceSettingForm(SettingForm):
    """A setting whose value is one of a few words."""

    value = SelectField("Value")

    def __init__(self, *args: Any, spec: SettingSpec, **kwargs: Any) -> None:
        super().__init__(*args, spec=spec, **kwargs)
        self.value.choices = options((c, c) for c in spec.choices or ())


def setting_form(spec: SettingSpec, *args: Any, **kwargs: Any) -> SettingForm:
    cls = ChoiceSettingForm if spec.choices else SettingForm
    return cls(*args, spec=spec, **kwargs)


class AuditFilterForm(FlaskForm):
    """GET filters for the audit viewer (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    actor = StringField("Actor", validators=[Optional(), Length(max=255)])
    action = StringField("Action", validators=[Optional(), Length(max=100)])
    resource = StringField("Resource", validators=[Optional(), Length(max=160)],
                           description="type or type:id, e.g. user:12")
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")
