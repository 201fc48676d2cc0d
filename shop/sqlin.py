"""``column IN (ids)`` that stays cheap for long lists: one parameter, whatever the length."""

from __future__ import annotations

import json

from sqlalchemy import Integer, any_, bindparam, column, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from shop.extensions import db


def id_in(col, ids: list[int], name: str = "ids") -> ColumnElement:
    """SQL: ``col`` is one of ``ids`` (integers).

    One parameter, not one per id: an ``IN`` list renders, and the driver binds, one
    placeholder per id on every call (about 0.5 ms for the 150 ids of a search's re-rank
    window on PostgreSQL, 0.15 ms on SQLite, several for thousands). On PostgreSQL an
    array (``col = ANY(:ids)``), which psycopg sends as it is; on SQLite a JSON array read
    by the built-in ``json_each`` (``col IN (SELECT value FROM json_each(:ids))``, which
    SQLite answers by looking each id up). ``name`` names the parameter (distinct per
    statement).
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return col == any_(bindparam(name, list(ids), type_=ARRAY(Integer)))
    ids_json = json.dumps([int(i) for i in ids])
    each = text(f"SELECT value FROM json_each(:{name})").bindparams(bindparam(name, ids_json))
    return col.in_(each.columns(column("value", Integer)).scalar_subquery())
