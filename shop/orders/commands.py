"""``flask shop`` commands for orders."""

from __future__ import annotations

import click

from shop.cli import shop_cli
