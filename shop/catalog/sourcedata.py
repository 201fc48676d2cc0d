"""Reading the Icecat/Chorus catalog files: CSV rows, JSONL attributes, text cleaning.

Pure functions with no database access, used by :mod:`shop.catalog.importer`.
The file formats are described in ``../shared/data/icecat_chorus/README.md``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import html
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import nh3

#: Columns of ``products.csv(.gz)``.
CSV_COLUMNS = (
    "product_id",
    "title",
    "name",
    "brand",
    "price_cents",
    "short_description",
    "product_type",
    "date_released",
    "ean",
    "image_url",
)

#: Attribute keys that describe logistics rather than the product (pallets, customs codes);
#: they are left out of the spec table.
_SKIPPED_ATTRIBUTE_WORDS = (
    "pallet",
    "master__outer",
    "harmonized_system",
    "last_change",
    "ark_id",
    "oem_code",
    "country_of_origin",
    "quantity_per_master",
)

# Block-level tags whose end is a line break in plain text.
_BREAKS = re.compile(r"<\s*br\s*/?\s*>|</\s*(p|div|ul|ol|tr|h[1-6])\s*>", re.IGNORECASE)
_BULLETS = re.compile(r"<\s*li[^>]*>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v]+")


def open_text(path: str | Path) -> io.TextIOBase:
    """Open a UTF-8 text file, transparently gunzipping ``*.gz``."""
    path = str(path)
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def clean_text(raw: str, keep_lines: bool = True) -> str:
    """Turn source HTML into safe plain text.

    Line breaks (``<br>``, ends of paragraphs and list items) become newlines when
    ``keep_lines``; list items get a "- " bullet; every tag is then removed by nh3
    (script/style content included) and entities are decoded. The result is plain text,
    to be escaped on output like any other text.
    """
    if not raw:
        return ""
    text = raw
    if keep_lines:
        text = _BULLETS.sub("\n- ", _BREAKS.sub("\n", text))
    text = html.unescape(nh3.clean(text, tags=set()))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    if not keep_lines:
        return " ".join(line for line in lines if line)
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def readable_key(key: str) -> str:
    """``attr_n_processor_frequency`` -> ``Processor frequency``.

    A trailing double-underscore group becomes a parenthesis
    (``dimensions__wxdxh_`` -> ``Dimensions (WXDXH)``).
    """
    body = re.sub(r"^attr_[tnb]_", "", key)
    body = re.sub(r"_s_$", "(s)", body)
    paren = ""
    match = re.search(r"__([a-z0-9_]+?)_$", body)
    if match:
        inner = match.group(1).replace("_", " ").strip()
        if all(len(w) <= 5 for w in inner.split()):
            inner = inner.upper()
        paren = f" ({inner})"
        body = body[: match.start()]
    words = re.sub(r"_+", " ", body).strip()
    return (words[:1].upper() + words[1:] + paren).strip()


def readable_value(key: str, value) -> str:
    """Display text for an attribute value: booleans Yes/No, whole numbers without ``.0``."""
    if key.startswith("attr_b_") or isinstance(value, bool):
        return "Yes" if value in (True, "true", "True", 1, "1") else "No"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:g}"
    return clean_text(str(value), keep_lines=False)


def readable_attributes(record: dict) -> dict[str, str]:
    """The ``attr_*`` fields of one JSONL record as ``{readable name: display value}``."""
    out: dict[str, str] = {}
    for key in sorted(record):
        if not key.startswith("attr_") or any(w in key for w in _SKIPPED_ATTRIBUTE_WORDS):
            continue
        value = readable_value(key, record[key])
        if value != "":
            out[readable_key(key)] = value
    return out


def read_attributes(paths) -> dict[str, dict[str, str]]:
    """Load the JSONL parts: ``{product_id: readable attributes}`` (later files win)."""
    result: dict[str, dict[str, str]] = {}
    for path in paths:
        with open_text(path) as fh:
            for line in fh:
                if line.strip():
                    record = json.loads(line)
                    result[str(record.get("id", ""))] = readable_attributes(record)
    return result


def demo_stock(sku: str) -> int:
    """Deterministic demo stock for a new product, from a SHA-256 of its SKU.

    Rule (documented in data/sample/README.md): with ``h = int(sha256(sku)[:8], 16)``,
    ``h % 20 == 0`` gives 0 (about 5% out of stock), ``h % 20`` in 1..3 gives
    ``1 + h % 5`` (about 15% low stock, 1-5 units), otherwise ``10 + h % 91`` (10-100).
    """
    h = int(hashlib.sha256(sku.encode("utf-8")).hexdigest()[:8], 16)
    bucket = h % 20
    if bucket == 0:
        return 0
    if bucket <= 3:
        return 1 + h % 5
    return 10 + h % 91


def parse_date(text: str) -> datetime | None:
    """ISO timestamp (``2009-12-10T00:00:00Z``) to an aware UTC datetime; None if unusable."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass
class SourceRow:
    """One valid CSV record, cleaned; ``line`` is where it starts in the file."""

    line: int
    sku: str
    title: str
    model: str
    brand: str
    price_cents: int
    description: str
    product_type: str
    released_at: datetime | None
    ean: str
    image_url: str


def read_rows(path: str | Path) -> Iterator[SourceRow | tuple[int, str]]:
    """Yield each CSV record as a :class:`SourceRow`, or ``(line, problem)`` if it is bad.

    A record is bad when it has no product id, no title, or a price that is not a whole
    number of cents >= 0. Line numbers count the header as line 1.

    Raises:
        ValueError: the file lacks one of :data:`CSV_COLUMNS`.
    """
    with open_text(path) as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns: {', '.join(missing)}")
        start = reader.line_num + 1
        for record in reader:
            line, start = start, reader.line_num + 1
            sku = (record.get("product_id") or "").strip()
            title = clean_text(record.get("title") or "", keep_lines=False)
            raw_price = (record.get("price_cents") or "").strip()
            if not sku:
                yield line, "no product_id"
                continue
            if len(sku) > 64:
                yield line, f"product_id longer than 64 characters ({sku[:20]}...)"
                continue
            if not title:
                yield line, f"product {sku}: no title"
                continue
            if not re.fullmatch(r"\d{1,9}", raw_price):
                yield (
                    line,
                    f"product {sku}: bad price_cents {raw_price!r} (a whole number of cents is required)",
                )
                continue
            yield SourceRow(
                line=line,
                sku=sku,
                title=title[:500],
                model=clean_text(record.get("name") or "", keep_lines=False)[:255],
                brand=clean_text(record.get("brand") or "", keep_lines=False)[:120],
                price_cents=int(raw_price),
                description=clean_text(record.get("short_description") or "")[:20000],
                product_type=clean_text(record.get("product_type") or "", keep_lines=False)[:120],
                released_at=parse_date(record.get("date_released") or ""),
                ean=(record.get("ean") or "").strip()[:255],
                image_url=(record.get("image_url") or "").strip()[:500],
            )
