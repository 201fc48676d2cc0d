"""Flask-Migrate, imported only when migrations are actually run.

``flask_migrate`` imports Alembic, which imports Mako and Pygments: some 12 MB of every
web worker's memory for code that only ``flask db ...`` (and the tests' ``upgrade()``) use.
:class:`DeferredMigrate` stands in for ``flask_migrate.Migrate`` in ``extensions.py``: its
``init_app`` records the settings, puts a placeholder under ``app.extensions["migrate"]``
and adds a ``flask db`` group that loads the real one when it is used. The first use of
either (the group's commands, or Flask-Migrate's functions reading the placeholder) runs
the real ``Migrate.init_app`` with the recorded settings, which replaces both.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask


class DeferredMigrate:
    """``flask_migrate.Migrate`` without the import: same ``init_app(app, db, directory,
    **kwargs)``; the real extension is made on first use (see the module docstring)."""

    def __init__(self):
        self.real = None

    def init_app(self, app: Flask, db, directory: str = "migrations", **kwargs) -> None:
        """Record the settings; add the placeholder and the ``flask db`` group to ``app``."""
        app.extensions["migrate"] = _PendingMigrateConfig(self, app, db, str(directory), kwargs)
        app.cli.add_command(_DeferredDbGroup(app), name="db")

    def load(self, app: Flask) -> Any:
        """Run Flask-Migrate's ``init_app`` on ``app`` with the recorded settings (once) and
        return ``app.extensions["migrate"]``, the real one."""
        pending = app.extensions.get("migrate")
        if isinstance(pending, _PendingMigrateConfig):
            from flask_migrate import Migrate

            if self.real is None:
                self.real = Migrate()
            self.real.init_app(app, pending.db, pending.directory, **pending.kwargs)
        return app.extensions["migrate"]


class _PendingMigrateConfig:
    """Stands under ``app.extensions["migrate"]`` until Flask-Migrate is loaded; reading any
    attribute (``.migrate``, ``.db``, ``.directory``, ``.configure_args``) loads it."""

    def __init__(self, owner: DeferredMigrate, app: Flask, db, directory: str, kwargs: dict):
        self.owner, self.app, self.db, self.directory, self.kwargs = owner, app, db, directory, kwargs

    def __getattr__(self, name: str) -> Any:
        return getattr(self.owner.load(self.app), name)


class _DeferredDbGroup(click.Group):
    """``flask db``: Flask-Migrate's group, loaded when a command is listed or looked up."""

    def __init__(self, app: Flask):
        super().__init__(name="db", help="Perform database migrations.")
        self.app = app

    def _real(self) -> click.Group:
        pending = self.app.extensions.get("migrate")
        if isinstance(pending, _PendingMigrateConfig):
            pending.owner.load(self.app)
        from flask_migrate.cli import db

        return db

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._real().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._real().get_command(ctx, cmd_name)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return self._real().get_params(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        return self._real().invoke(ctx)
