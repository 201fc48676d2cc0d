"""Reading the Icecat/Chorus catalog files: CSV rows, JSONL attributes, text cleaning.

Pure functions with no database access, used by :mod:`shop.catalog.importer`. Bad rows
and lines come out as :class:`~shop.catalog.sourcefiles.Problem` (file, line, column,
reason); a file that cannot be read as a whole raises
:class:`~shop.catalog.sourcefiles.SourceFileError`.
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

from shop.catalog.sourcefiles import LineReader, Problem, SourceFileError

#: Longest product id and title a row may have (the columns' sizes); longer rows are skipped.
SKU_MAX = 64
TITLE_MAX = 500
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


def read_attributes(paths) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """Load the JSONL parts: ``({product_id: readable attributes}, problems)``; later files win.

    A line that is not a JSON object with an ``id`` is a :class:`Problem` and skipped.

    Raises:
        SourceFileError: a file cannot be read as a whole (see :class:`LineReader`).
    """
    result: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    for path in paths:
        lines = LineReader(path)
        for text in lines:
            if not text.strip():
                continue
            try:
                record = json.loads(text.rstrip("\r\n"))
            except json.JSONDecodeError as exc:
                problems.append(
                    Problem(
                        lines.name, lines.number, str(exc.colno), f"not valid JSON ({exc.msg}); line skipped"
                    )
                )
                continue
            if not isinstance(record, dict):
                problems.append(Problem(lines.name, lines.number, None, "not a JSON object; line skipped"))
                continue
            if not str(record.get("id") or "").strip():
                problems.append(Problem(lines.name, lines.number, "id", "no product id; line skipped"))
                continue
            result[str(record["id"]).strip()] = readable_attributes(record)
    return result, problems


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


def read_rows(path: str | Path) -> Iterator[SourceRow | Problem]:
    """Yield each CSV record as a :class:`SourceRow`, or a :class:`Problem` if it is bad.

    A record is bad (and skipped) when the csv module cannot parse it (a field over the
    csv field size limit, a NUL byte), when it has more or fewer fields than the header,
    no product id, no title or one over :data:`TITLE_MAX` characters, or a price that is
    not a whole number of cents >= 0. Header columns the shop does not use are reported
    once, as a warning. Line numbers count the header as line 1.

    Raises:
        SourceFileError: the file lacks one of :data:`CSV_COLUMNS`, is empty, or cannot be
            read as a whole (see :class:`LineReader`).
    """
    lines = LineReader(path)
    reader = csv.reader(lines)
    header = [name.strip() for name in next(reader, None) or []]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if not header:
        raise SourceFileError(Problem(lines.name, 1, None, "empty file: no header line"))
    if missing:
        raise SourceFileError(
            Problem(
                lines.name,
                1,
                None,
                f"missing columns: {', '.join(missing)} (the header has: {', '.join(header)})",
            )
        )
    extra = [name for name in header if name not in CSV_COLUMNS]
    if extra:
        yield Problem(lines.name, 1, None, f"columns not imported, ignored: {', '.join(extra)}", warning=True)
    while True:
        lines.mark()
        start = lines.number + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Problem(
                lines.name, start, _refused_column(exc, lines.recent, header), f"{exc}; row skipped"
            )
            continue
        if fields:  # a blank line is no record
            yield _check_row(lines.name, start, header, fields)


def _check_row(name: str, line: int, header: list[str], fields: list[str]) -> SourceRow | Problem:
    """One parsed record as a :class:`SourceRow`, or the first :class:`Problem` with it."""

    def bad(column: str | None, reason: str) -> Problem:
        return Problem(name, line, column, f"{reason}; row skipped")

    if len(fields) != len(header):
        return bad(None, f"{len(fields)} fields where the header has {len(header)} (a stray comma or quote?)")
    record = dict(zip(header, fields))
    for column in CSV_COLUMNS:
        if "\x00" in record[column]:
            return bad(column, "contains a NUL character")
    sku = record["product_id"].strip()
    title = clean_text(record["title"], keep_lines=False)
    raw_price = record["price_cents"].strip()
    if not sku:
        return bad("product_id", "no product_id")
    if len(sku) > SKU_MAX:
        return bad("product_id", f"product_id longer than {SKU_MAX} characters ({sku[:20]}...)")
    if not title:
        return bad("title", f"product {sku}: no title")
    if len(title) > TITLE_MAX:
        return bad("title", f"product {sku}: title of {len(title)} characters (at most {TITLE_MAX})")
    if not re.fullmatch(r"\d{1,9}", raw_price):
        return bad(
            "price_cents",
            f"product {sku}: bad price_cents {raw_price[:20]!r} (a whole number of cents is required)",
        )
    return SourceRow(
        line=line,
        sku=sku,
        title=title,
        model=clean_text(record["name"], keep_lines=False)[:255],
        brand=clean_text(record["brand"], keep_lines=False)[:120],
        price_cents=int(raw_price),
        description=clean_text(record["short_description"])[:20000],
        product_type=clean_text(record["product_type"], keep_lines=False)[:120],
        released_at=parse_date(record["date_released"]),
        ean=record["ean"].strip()[:255],
        image_url=record["image_url"].strip()[:500],
    )


def _refused_column(exc: csv.Error, record_lines: list[str], header: list[str]) -> str | None:
    """The column of the field the csv module refused (too large, or holding NUL), if found."""
    limit = csv.field_size_limit()
    fields = _split_raw_fields("".join(record_lines))
    for index, value in enumerate(fields):
        if len(value) > limit or "\x00" in value:
            return header[index] if index < len(header) else f"#{index + 1} (beyond the header)"
    return None


def _split_raw_fields(text: str) -> list[str]:
    """Split a record's raw text at the commas outside quotes (quotes kept; only used to
    find which field of a record the csv module refused)."""
    fields, current, quoted = [], [], False
    for ch in text.rstrip("\r\n"):
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            fields.append("".join(current))
            current = []
        else:
            current.append(ch)
    fields.append("".join(current))
    return fields
