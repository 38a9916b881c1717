"""Sign-in and set-password forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.auth.services import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    email = StringField("Email or username", validators=[DataRequired(), Length(max=255)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD_LENGTH, max=1024,
                   message=f"Use at least {MIN_PASSWORD_LENGTH} characters."),
            # The organization's policy (app.auth.policy) adds its own rules in the view.
        ],
    )
    confirm = PasswordField(
        "Repeat the password", validators=[DataRequired(), EqualTo("password", "The two passwords differ.")]
    )

    def validate_password(self, field: PasswordField) -> None:
        if field.data and field.data.strip() != field.data:
            raise ValidationError("Leading or trailing spaces are not allowed.")


class MfaChallengeForm(FlaskForm):
    code = StringField("Authentication code", validators=[DataRequired(), Length(max=20)],
                       description="The 6-digit code from your authenticator app, or a backup code.")
    trust_browser = BooleanField("Trust this browser for 30 days")


class MfaConfirmForm(FlaskForm):
    code = StringField("Code from the app", validators=[DataRequired(), Length(min=6, max=7)])


class MfaDisableForm(FlaskForm):
    password = PasswordField("Your password", validators=[DataRequired(), Length(max=1024)])
    code = StringField("Authentication code", validators=[DataRequired(), Length(max=20)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])
    password = PasswordField("New password", validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(
        "Repeat the new password", validators=[DataRequired(), EqualTo("password", "The two passwords differ.")]
    )


class ForgotPasswordForm(FlaskForm):
    email = StringField("Your e-mail address", validators=[DataRequired(), Length(max=255)])
