"""``flask shop ...`` commands. Each domain adds its own commands to this group."""

from __future__ import annotations

from flask.cli import AppGroup

shop_cli = AppGroup("shop", help="Shop administration commands.")

# Domain command modules attach themselves to ``shop_cli`` on import.
from shop.auth import commands as _auth_commands  # noqa: E402,F401
from shop.catalog import commands as _catalog_commands  # noqa: E402,F401
from shop.orders import commands as _orders_commands  # noqa: E402,F401
from shop.search import commands as _search_commands  # noqa: E402,F401
