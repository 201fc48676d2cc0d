"""Putting a service's errors on a form page: one way for every view (as flaskbb's
``form.populate_errors``)."""

from __future__ import annotations

from collections.abc import Mapping

from shop.exceptions import ShopError


def apply_errors(form, exc: ShopError, field_names: Mapping[str, str] | None = None) -> list[str]:
    """Show a service's field errors next to the matching form fields.

    Args:
        form: a WTForms form.
        exc: the domain error; its ``errors`` is ``{field: [messages]}``. A dotted key
            (``shipping_address.city``) is matched by its last part.
        field_names: service field name → form field name where the two differ.
    Returns:
        The messages that found no field (empty when every error was placed). When nothing
        was placed, ``exc.detail`` is added to ``form.form_errors`` so the page shows it.
    """
    field_names = field_names or {}
    leftovers: list[str] = []
    placed = False
    for key, messages in (exc.errors or {}).items():
        name = field_names.get(key, key.split(".")[-1])
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, *messages]
            placed = True
        else:
            leftovers.extend(messages)
    if not placed:
        form.form_errors.append(exc.detail)
    return leftovers


def add_error(form, name: str, message: str) -> None:
    """Add one message to a form field's errors (after ``validate()`` has run)."""
    field = getattr(form, name)
    field.errors = [*field.errors, message]


def first_error(form) -> str:
    """The form's first error as one sentence (``"Quantity: Not a number."``), for a flash."""
    for name, errors in form.errors.items():
        label = getattr(getattr(form, name, None), "label", None)
        return f"{label.text if label else name}: {errors[0]}"
    return "Please check the form."
