"""Account forms (Flask-WTF: every form carries a CSRF token).

Field presence, lengths and confirmation live here; the e-mail syntax, the password policy
and uniqueness are checked by ``shop.auth.services`` so the HTML and JSON paths agree.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.fields import SelectMultipleField
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from shop.auth.models import ROLES
from shop.auth.passwords import MAX_LENGTH, MIN_LENGTH


class LoginForm(FlaskForm):
    """E-mail and password; ``next`` carries where to go afterwards (checked by the view)."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    remember = BooleanField("Keep me logged in on this device")
    next = HiddenField()


class RegisterForm(FlaskForm):
    """A new customer account."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    name = StringField("Name", validators=[Optional(), Length(max=120)])
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        description=f"At least {MIN_LENGTH} characters; common passwords are refused.",
    )
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")]
    )


class ResetRequestForm(FlaskForm):
    """Ask for a password reset link."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    """Choose a new password with a reset link."""

    password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        description=f"At least {MIN_LENGTH} characters; common passwords are refused.",
    )
    confirm = PasswordField(
        "Repeat new password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")]
    )
    # Unticked by default: a new password revokes the API tokens the old one could make.
    keep_api_tokens = BooleanField(
        "Keep my API tokens working",
        default=False,
        description="Unticked, every API token of the account is revoked with the old password.",
    )


class ChangePasswordForm(ResetPasswordForm):
    """A signed-in person's new password (as with a reset link), confirmed with the current one."""

    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=MAX_LENGTH)])


class MultiCheckboxField(SelectMultipleField):
    """A set of checkboxes for a multiple choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TokenCreateForm(FlaskForm):
    """Create an API token; the scopes offered depend on the user's role."""

    name = StringField(
        "Name",
        validators=[Optional(), Length(max=100)],
        description="Helps you recognise the token later, e.g. 'stock sync'.",
    )
    scopes = MultiCheckboxField("Scopes", choices=[])
    expires_in_days = IntegerField(
        "Expires after (days)",
        validators=[Optional(), NumberRange(min=1, max=3650)],
    )


class ConfirmForm(FlaskForm):
    """An empty form: a CSRF-protected confirmation button."""


class RoleForm(FlaskForm):
    """Change a user's role (admins)."""

    role = SelectField("Role", choices=[(r, r.capitalize()) for r in ROLES])
