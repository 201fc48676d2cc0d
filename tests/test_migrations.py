"""The migrations build the schema from empty and match the models."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

import shop.models  # noqa: F401
from shop.extensions import db as _db


@pytest.fixture
def empty_database_url(database_url, tmp_path):
    """A brand-new empty database of the suite's kind (SQLite file or PostgreSQL database)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"{url.database}_migr_{uuid.uuid4().hex[:8]}"  # named after the suite's (or worker's) database
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _include(obj, name, type_, reflected, compare_to):
    return not (reflected and compare_to is None)


def test_upgrade_from_empty_matches_models(app_factory, empty_database_url):
    app = app_factory(SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade()
        with _db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _include})
            diff = compare_metadata(ctx, _db.metadata)
            tables = set(inspect(conn).get_table_names())
        assert diff == [], f"migrations differ from the models: {diff}"
        assert {"products", "orders", "users", "stock_movements"} <= tables
        assert any(t.startswith("search_") for t in tables), "the search index was not built"
        downgrade(revision="base")
        with _db.engine.connect() as conn:
            left = set(inspect(conn).get_table_names()) - {"alembic_version"}
        assert not (left & set(_db.metadata.tables)), "downgrade left model tables behind"
        assert not [t for t in left if t.startswith("search_")], f"search tables left: {left}"
