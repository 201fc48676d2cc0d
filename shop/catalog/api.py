"""Catalog JSON API."""

from shop.catalog import api_bp  # noqa: F401
