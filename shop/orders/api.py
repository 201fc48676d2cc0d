"""Cart and orders JSON API."""

from shop.orders import api_bp  # noqa: F401
