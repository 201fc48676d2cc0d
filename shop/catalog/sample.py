"""Make the repository's sample catalog (``data/sample/``) from the full source files.

The sample is stratified by category: every leaf of the tree gets its share of the
target size (proportional to its size in the full catalog, at least ``min_per_leaf``
products, or all of them when it has fewer), and within a leaf the products with the
lowest SHA-256 of their id are taken. The same input always gives the same sample, and
the gzip files are written with a fixed timestamp so they are byte-for-byte reproducible.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections import defaultdict
from pathlib import Path

from shop.catalog.categorize import load_categorizer
from shop.catalog.sourcedata import clean_text, open_text, readable_attributes


def _rank(sku: str) -> str:
    """Deterministic pseudo-random order of products."""
    return hashlib.sha256(sku.encode("utf-8")).hexdigest()


def _quotas(sizes: dict[str, int], target: int, min_per_leaf: int) -> dict[str, int]:
    """Products to take per leaf so that the total is close to ``target``."""
    lo, hi = 0.0, 1.0
    for _ in range(50):  # bisect the sampling rate
        rate = (lo + hi) / 2
        total = sum(min(n, max(min_per_leaf, round(n * rate))) for n in sizes.values())
        lo, hi = (rate, hi) if total < target else (lo, rate)
    return {leaf: min(n, max(min_per_leaf, round(n * hi))) for leaf, n in sizes.items()}


def make_sample(
    source_dir: str | Path, out_dir: str | Path, target: int = 2000, min_per_leaf: int = 20
) -> dict[str, int]:
    """Write ``products.csv.gz`` and ``products_full.jsonl.gz`` for the sample to ``out_dir``.

    Args:
        source_dir: folder with ``products.csv.gz`` and ``products_full_part*.jsonl.gz``.
        out_dir: where the sample files go (created if missing).
        target: about how many products to take.
        min_per_leaf: minimum per category leaf (or all of the leaf's products).
    Returns:
        ``{leaf slug: products taken}``.
    """
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = _full_records(source_dir)
    with open_text(source_dir / "products.csv.gz") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames
        rows = list(reader)
    by_leaf = _rows_by_leaf(rows, records)
    quotas = _quotas({leaf: len(items) for leaf, items in by_leaf.items()}, target, min_per_leaf)
    chosen = set()
    for leaf, items in by_leaf.items():
        chosen.update(
            r["product_id"] for r in sorted(items, key=lambda r: _rank(r["product_id"]))[: quotas[leaf]]
        )
    picked = [r for r in rows if r["product_id"] in chosen]  # keep the source order
    _write_sample(out_dir, fields, picked, records)
    return {leaf: quotas[leaf] for leaf in sorted(quotas)}


def _full_records(source_dir: Path) -> dict[str, str]:
    """``{product id: its JSONL line}`` from every ``products_full_part*.jsonl.gz``."""
    records: dict[str, str] = {}
    for part in sorted(source_dir.glob("products_full_part*.jsonl.gz")):
        with open_text(part) as fh:
            for line in fh:
                if line.strip():
                    records[str(json.loads(line)["id"])] = line.rstrip("\n")
    return records


def _rows_by_leaf(rows: list[dict], records: dict[str, str]) -> dict[str, list[dict]]:
    """CSV rows grouped by the category leaf the importer's rules give them."""
    categorizer = load_categorizer()
    by_leaf: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        attrs = (
            readable_attributes(json.loads(records[row["product_id"]]))
            if row["product_id"] in records
            else None
        )
        leaf = categorizer.leaf_for(
            clean_text(row["title"], keep_lines=False),
            row["product_type"],
            clean_text(row["short_description"]),
            attrs,
            row["brand"],
        )
        by_leaf[leaf].append(row)
    return by_leaf


def _write_sample(out_dir: Path, fields, picked: list[dict], records: dict[str, str]) -> None:
    """Write the picked CSV rows and their JSONL records as the two sample files."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(picked)
    _write_gz(out_dir / "products.csv.gz", buffer.getvalue())
    lines = [records[r["product_id"]] for r in picked if r["product_id"] in records]
    _write_gz(out_dir / "products_full.jsonl.gz", "\n".join(lines) + "\n")


def _write_gz(path: Path, text: str) -> None:
    """Write gzip with a fixed mtime and no file name (reproducible bytes)."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
