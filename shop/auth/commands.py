"""``flask shop`` commands for auth."""

from __future__ import annotations

import click

from shop.cli import shop_cli
