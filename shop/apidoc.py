"""The API's conventions, written into the OpenAPI document once for every operation.

The document is the contract scripts (and the property-based tests) rely on, so it must say
what the code does. This module holds what the per-endpoint decorators would otherwise
repeat or get wrong:

- :class:`ApiConventions`, an apispec plugin: every error response is problem+json; every
  operation lists the refusals that every endpoint can give (414 over-long URL, 429
  throttled; 400/413/422 for bodies; 422 for query strings; 401/403 behind a token; 404
  for path ids) and gets its Flask endpoint name as ``operationId`` (for links);
- validators whose limits are app settings (:class:`SettingRange`, :class:`SettingChoice`),
  read when a request is checked and documented from the same setting;
- :data:`NO_NUL` for JSON text (refused with 422 before validation, see ``shop.security``);
- :class:`QuerySchema`, which refuses a single-valued query parameter given twice (422).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app
from marshmallow import Schema, ValidationError, pre_load, validate

PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}

#: JSON text never contains U+0000 (PostgreSQL cannot store it): ``shop.security`` refuses
#: such a body with 422 before any schema runs; the pattern documents that rule.
NO_NUL = validate.Regexp(r"^[^\x00]*$", error="May not contain NUL characters.")
#: The same for required text that must hold more than whitespace (checked as sent, so the
#: document can state it, before the text is trimmed).
NOT_BLANK = validate.Regexp(
    r"^[^\x00]*[^\x00\s][^\x00]*$", error="May not be blank or contain NUL characters."
)


class SettingRange(validate.Validator):
    """An integer range whose upper bound is an app setting (e.g. ``MAX_CART_QUANTITY``).

    The bound is read from ``current_app.config`` on every request and documented as
    ``maximum`` from the same setting, so the code and the document cannot disagree.
    """

    def __init__(self, low: int, setting: str):
        self.low = low
        self.setting = setting

    def documented(self, config: Mapping) -> dict:
        """The OpenAPI attributes for this validator under ``config``."""
        return {"minimum": self.low, "maximum": int(config[self.setting])}

    def __call__(self, value):
        """Refuse ``value`` outside ``low``..the setting (marshmallow ValidationError)."""
        high = int(current_app.config[self.setting])
        if not self.low <= value <= high:
            raise ValidationError(f"Must be between {self.low} and {high}.")
        return value


class SettingChoice(validate.Validator):
    """A string that must be one of the values of a list setting (e.g. ``PAYMENT_PROVIDERS``),
    documented as its ``enum``; ``choices(config)``, when given, narrows the setting to the
    values that apply (e.g. the providers whose keys are set)."""

    def __init__(self, setting: str, choices: Callable[[Mapping], list[str]] | None = None):
        self.setting = setting
        self._choices = choices or (lambda config: list(config[setting]))

    def documented(self, config: Mapping) -> dict:
        """The OpenAPI attributes for this validator under ``config``."""
        return {"enum": self._choices(config)}

    def __call__(self, value):
        """Refuse ``value`` unless it is one of the choices (marshmallow ValidationError)."""
        choices = self._choices(current_app.config)
        if value not in choices:
            raise ValidationError(f"Must be one of: {', '.join(choices)}.")
        return value


class QuerySchema(Schema):
    """Base of the query-string schemas: a parameter that takes one value may be given once.

    webargs would silently use the first of ``per_page=5&per_page=500``; refusing it (422)
    keeps a script from believing the second value was applied.
    """

    @pre_load
    def _single_values(self, data, **kwargs):
        """Refuse repeated single-valued parameters (webargs passes a MultiDictProxy)."""
        raw = getattr(data, "data", None)
        if not hasattr(raw, "getlist"):
            return data
        multiple = getattr(data, "multiple_keys", set())
        repeated = {
            key: ["Give this parameter once."]
            for key in raw.keys()
            if key not in multiple and len(raw.getlist(key)) > 1
        }
        if repeated:
            raise ValidationError(repeated)
        return data


def _problem(description: str, **extra) -> dict:
    """A problem+json response object."""
    return {"description": description, "content": PROBLEM_CONTENT, **extra}


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    }
}
BODY_METHODS = ("post", "put", "patch")


class ApiConventions(BasePlugin):
    """apispec plugin writing the API-wide conventions into every operation.

    Args:
        config: the app's settings (limits quoted in the descriptions, setting-bound
            validators).
    """

    def __init__(self, config: Mapping):
        self.config = config

    def init_spec(self, spec) -> None:
        """Teach the marshmallow converter about setting-bound validators."""
        super().init_spec(spec)
        config = self.config

        def setting_limits(converter, field, **kwargs) -> dict:
            """OpenAPI attributes of validators bound to settings (``documented(config)``)."""
            out: dict[str, Any] = {}
            for validator in field.validators:
                if hasattr(validator, "documented"):
                    out.update(validator.documented(config))
            return out

        for plugin in spec.plugins:
            if isinstance(plugin, MarshmallowPlugin):
                plugin.converter.add_attribute_function(setting_limits)

    def schema_helper(self, name, definition, **kwargs) -> dict:
        """Schema-wide keywords a marshmallow schema lists in ``OPENAPI_KEYWORDS`` (such as
        ``minProperties``), which its fields cannot say."""
        return dict(getattr(kwargs.get("schema"), "OPENAPI_KEYWORDS", None) or {})

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        """Add the common responses and an ``operationId`` to each operation of ``path``."""
        rule = kwargs.get("rule")
        for method, operation in (operations or {}).items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if rule is not None:
                single = len(operations) == 1
                operation.setdefault("operationId", rule.endpoint if single else f"{rule.endpoint}.{method}")
            responses = operation["responses"]
            for status, response in self._common(method, operation, path or "").items():
                responses.setdefault(status, response)
            for status, response in responses.items():
                if str(status)[0] in "45" and isinstance(response, dict) and "content" not in response:
                    response["content"] = PROBLEM_CONTENT

    def _common(self, method: str, operation: dict, path: str) -> dict:
        """The refusals any operation of this shape can give."""
        limit = self.config.get("MAX_URL_LENGTH")
        common = {
            414: {
                "description": f"The URL is longer than {limit} bytes (query string included). A "
                "request line longer than the HTTP server's own limit (gunicorn: 4094 bytes by "
                "default) never reaches the app: the server answers with its own HTML page.",
                "content": {**PROBLEM_CONTENT, "text/html": {"schema": {"type": "string"}}},
            },
            429: _problem(
                "Too many requests from this client or token (API_RATE_LIMIT).", headers=RETRY_AFTER
            ),
        }
        has_query = any(
            isinstance(p, dict) and p.get("in") == "query" for p in operation.get("parameters", [])
        )
        if method in BODY_METHODS and "requestBody" in operation:
            size = self.config.get("MAX_CONTENT_LENGTH")
            common[400] = _problem("The body is not JSON, or not sent as application/json.")
            common[413] = _problem(f"The body is larger than {size} bytes.")
            common[422] = _problem("Invalid fields (see errors); text may not contain NUL characters.")
        elif has_query:
            common[422] = _problem("Invalid query parameters (see errors).")
        security = operation.get("security") or []
        if security and {} not in security:
            common[401] = _problem("Missing, invalid, expired or revoked bearer token.")
            common[403] = _problem("The token lacks the scope, or the account may not do this.")
        if "{" in path:
            common[404] = _problem("No such resource (or not the caller's).")
        return common


def path_parameter(name: str, description: str, **schema) -> dict:
    """A path parameter's documentation (for ``@bp.doc(parameters=[...])``)."""
    return {"in": "path", "name": name, "required": True, "description": description, "schema": schema}
