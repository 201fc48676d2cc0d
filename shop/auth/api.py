"""Accounts JSON API."""

from shop.auth import api_bp  # noqa: F401
