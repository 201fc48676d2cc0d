"""Catalog import: idempotency, bad rows and bad files, HTML cleaning, stock ledger, category coverage."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from sqlalchemy import func, select

from shop.catalog.importer import import_catalog
from shop.catalog.models import Category, Product, StockMovement
from shop.catalog.sourcedata import clean_text, demo_stock, readable_key
from shop.catalog.stock import ledger_mismatches

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
HEADER = (
    "product_id,title,name,brand,price_cents,short_description,product_type,date_released,ean,image_url\n"
)


def _write_csv(path: Path, body: str) -> Path:
    path.write_text(HEADER + body, encoding="utf-8")
    return path


GOOD = (
    '1001,"HP Pavilion dv7 Notebook Silver 43.2 cm (17"") Intel Core2 Duo",dv7-1211ea,HP,10995,'
    '"Fast<br />notebook <script>alert(1)</script><b>bold</b> &amp; light",Notebook,2008-12-19T00:00:00Z,0884420588030,'
    "http://images.icecat.biz/img/1001.jpg\n"
    "1002,Xerox 006R90321 toner cartridge Original Black 6 pc(s),006R90321,Xerox,4995,Toner,,2009-12-10T00:00:00Z,"
    "0095205603217,http://images.icecat.biz/img/1002.jpg\n"
)


def test_import_is_idempotent_and_updates_fields(db, tmp_path):
    path = _write_csv(tmp_path / "p.csv", GOOD)
    first = import_catalog(path)
    db.session.commit()
    assert (first.created, first.updated, first.errors) == (2, 0, [])
    laptop = db.session.scalar(select(Product).where(Product.sku == "1001"))
    slug, stock = laptop.slug, laptop.stock
    assert slug.startswith("hp-pavilion-dv7-notebook")
    assert laptop.status == "active" and laptop.price_cents == 10995 and laptop.model == "dv7-1211ea"
    assert laptop.released_at.year == 2008 and laptop.ean == "0884420588030"
    assert laptop.category.slug == "laptops" and laptop.category.parent.slug == "computers"
    toner = db.session.scalar(select(Product).where(Product.sku == "1002"))
    assert toner.category.full_name == "Printing > Toner & ink"

    # A sale happened meanwhile; the price changes in the source.
    laptop.stock = max(stock - 1, 0)
    db.session.add(StockMovement(product_id=laptop.id, delta=laptop.stock - stock, reason="order"))
    db.session.commit()
    _write_csv(path, GOOD.replace(",10995,", ",9995,"))
    second = import_catalog(path)
    db.session.commit()
    assert (second.created, second.updated, second.unchanged) == (0, 1, 1)
    assert db.session.scalar(select(func.count()).select_from(Product)) == 2
    db.session.expire_all()
    laptop = db.session.scalar(select(Product).where(Product.sku == "1001"))
    assert laptop.price_cents == 9995
    assert laptop.slug == slug  # stable
    assert laptop.stock == max(stock - 1, 0)  # re-import never overwrites sales
    assert ledger_mismatches() == []
    assert (
        db.session.scalar(select(func.count()).select_from(Category).where(Category.slug == "laptops")) == 1
    )


def test_bad_rows_reported_with_line_numbers_and_skipped(db, tmp_path):
    body = (
        GOOD
        + "1003,,nameonly,Acme,100,,,,,\n"  # line 4: no title
        + "1004,Acme thing,x,Acme,12.50,,,,,\n"  # line 5: bad price
        + '1005,"Multi\nline title",x,Acme,abc,,,,,\n'  # lines 6-7: bad price
        + "1006,Acme keyboard,x,Acme,1500,,,,,\n"  # line 8: fine
        + "1001,Duplicate,x,HP,1,,,,,\n"  # line 9: duplicate id
    )
    report = import_catalog(_write_csv(tmp_path / "p.csv", body))
    db.session.commit()
    lines = {p.line: p for p in report.errors}
    assert sorted(lines) == [4, 5, 6, 9]
    assert "no title" in lines[4].reason and "bad price" in lines[5].reason and "bad price" in lines[6].reason
    assert "duplicate" in lines[9].reason
    assert [lines[n].column for n in (4, 5, 6, 9)] == ["title", "price_cents", "price_cents", "product_id"]
    skus = set(db.session.scalars(select(Product.sku)))
    assert skus == {"1001", "1002", "1006"}
    assert report.created == 3 and report.rows == 7


def test_html_is_cleaned_to_plain_text_with_line_breaks(db, tmp_path):
    import_catalog(_write_csv(tmp_path / "p.csv", GOOD))
    db.session.commit()
    laptop = db.session.scalar(select(Product).where(Product.sku == "1001"))
    assert laptop.description == "Fast\nnotebook bold & light"
    assert "<" not in laptop.description and "alert" not in laptop.description
    assert clean_text("<ul><li>One</li><li>Two &lt;3</li></ul>") == "- One\n- Two <3"
    assert clean_text('90&deg; <img src=x onerror="x()">', keep_lines=False) == "90°"


def test_stock_is_deterministic_and_recorded_in_the_ledger(db, tmp_path):
    import_catalog(_write_csv(tmp_path / "p.csv", GOOD))
    db.session.commit()
    for sku in ("1001", "1002"):
        product = db.session.scalar(select(Product).where(Product.sku == sku))
        assert product.stock == demo_stock(sku)
        moves = db.session.scalars(select(StockMovement).where(StockMovement.product_id == product.id)).all()
        assert sum(m.delta for m in moves) == product.stock
        assert all(m.reason == "import" for m in moves)
    assert ledger_mismatches() == []
    stocks = [demo_stock(str(n)) for n in range(2000)]
    assert 0 in stocks and any(1 <= s <= 5 for s in stocks) and max(stocks) <= 100


def test_attributes_from_jsonl_become_readable(db, tmp_path):
    record = {
        "id": "1002",
        "attr_t_print_technology": "Laser printing",
        "attr_n_quantity_per_pack": 6.0,
        "attr_b_rohs_compliance": True,
        "attr_n_pallet_weight": 100.0,
        "attr_t_dimensions__wxdxh_": "1 x 2 x 3",
    }
    jsonl = tmp_path / "full.jsonl.gz"
    with gzip.open(jsonl, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    import_catalog(_write_csv(tmp_path / "p.csv", GOOD), [jsonl])
    db.session.commit()
    toner = db.session.scalar(select(Product).where(Product.sku == "1002"))
    assert toner.attributes == {
        "Print technology": "Laser printing",
        "Quantity per pack": "6",
        "Rohs compliance": "Yes",
        "Dimensions (WXDXH)": "1 x 2 x 3",
    }
    assert readable_key("attr_n_thermal_design_power__tdp_") == "Thermal design power (TDP)"


def test_sample_imports_with_category_coverage(db):
    report = import_catalog(SAMPLE / "products.csv.gz", [SAMPLE / "products_full.jsonl.gz"])
    db.session.commit()
    assert report.errors == []
    assert report.created == db.session.scalar(select(func.count()).select_from(Product)) >= 1900
    assert report.coverage >= 0.90
    in_other = db.session.scalar(
        select(func.count()).select_from(Product).join(Category).where(Category.slug == "other")
    )
    assert in_other / report.created <= 0.10
    leaves = db.session.scalars(select(Category).where(Category.parent_id.is_not(None))).all()
    assert 20 <= len(leaves) <= 40
    used = set(db.session.scalars(select(Product.category_id).distinct()))
    assert all(leaf.id in used for leaf in leaves)  # the sample spans every leaf
    assert ledger_mismatches() == []
    again = import_catalog(SAMPLE / "products.csv.gz", [SAMPLE / "products_full.jsonl.gz"])
    db.session.commit()
    assert (again.created, again.updated, again.unchanged) == (0, 0, report.created)


def test_import_command_prints_coverage(app, db, tmp_path):
    path = _write_csv(tmp_path / "p.csv", GOOD + "1003,,x,Acme,1,,,,,\n")
    result = app.test_cli_runner().invoke(args=["shop", "import-catalog", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 created" in result.output and "1 skipped" in result.output
    assert f"{path}, line 4, column title: product 1003: no title; row skipped" in result.output
    assert "Category coverage: 2/2" in result.output
    assert db.session.scalar(select(func.count()).select_from(Product)) == 2


# ---- bad files through the command: file, line, column and a reason; never a traceback ----


def _cli(app, *args):
    """Run ``flask shop import-catalog ARGS``; no traceback may reach the output."""
    result = app.test_cli_runner().invoke(args=["shop", "import-catalog", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "Aborted!" not in result.output, result.output
    return result


def _products(db) -> dict[str, int]:
    db.session.expire_all()
    return dict(db.session.execute(select(Product.sku, Product.price_cents)).all())


def _many_rows(n: int = 400, price: int = 1000) -> str:
    return "".join(
        f"{2000 + i},Acme gadget number {i},g{i},Acme,{price + i},A gadget,,,,\n" for i in range(n)
    )


def test_truncated_gzip_is_refused_with_its_line_and_nothing_changes(app, db, tmp_path):
    path = tmp_path / "products.csv.gz"
    path.write_bytes(gzip.compress((HEADER + _many_rows()).encode()))
    assert _cli(app, path).exit_code == 0
    before = _products(db)
    data = gzip.compress((HEADER + _many_rows(price=5000)).encode())
    path.write_bytes(data[: len(data) // 2])
    result = _cli(app, path)
    assert result.exit_code == 1
    assert re.search(
        rf"Error: {re.escape(str(path))}, line \d+: the gzip data ends inside line \d+", result.output
    )
    assert "truncated" in result.output and "nothing imported." in result.output
    assert _products(db) == before  # the rows before the damage were not imported either


def test_huge_title_skips_that_row_and_imports_the_rest(app, db, tmp_path):
    huge = "Big " * 250_000  # 1 MB, over the csv module's field size limit
    long = "L" * 600
    body = (
        GOOD
        + f'1003,"{huge}",x,Acme,100,,,,,\n'
        + f"1004,{long},x,Acme,100,,,,,\n"
        + "1005,Fine,x,Acme,100,,,,,\n"
    )
    path = _write_csv(tmp_path / "p.csv", body)
    result = _cli(app, path)
    assert result.exit_code == 0, result.output
    assert (
        f"{path}, line 4, column title: field larger than field limit (131072); row skipped" in result.output
    )
    assert (
        f"{path}, line 5, column title: product 1004: title of 600 characters (at most 500)" in result.output
    )
    assert "3 created" in result.output and "2 skipped" in result.output
    assert set(_products(db)) == {"1001", "1002", "1005"}


def test_latin1_file_is_refused_with_line_and_column(app, db, tmp_path):
    path = tmp_path / "p.csv"
    body = HEADER + GOOD + "1003,Caf\u00e9 cr\u00e8me machine,x,Acme,100,,,,,\n"
    path.write_bytes(body.encode("latin-1"))
    result = _cli(app, path)
    assert result.exit_code == 1
    assert f"Error: {path}, line 4, column 9: not UTF-8 text: byte 0xe9" in result.output
    assert "Latin-1" in result.output and "nothing imported." in result.output
    assert _products(db) == {}


def test_utf8_bom_is_accepted(app, db, tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + GOOD).encode())
    result = _cli(app, path)
    assert result.exit_code == 0, result.output
    assert "2 created" in result.output and "missing columns" not in result.output
    assert set(_products(db)) == {"1001", "1002"}


def test_extra_columns_are_reported_once_as_ignored(app, db, tmp_path):
    path = tmp_path / "p.csv"
    rows = "".join(line + ",red,1kg\n" for line in GOOD.splitlines())
    path.write_text(HEADER.rstrip("\n") + ",colour,weight\n" + rows, encoding="utf-8")
    result = _cli(app, path)
    assert result.exit_code == 0, result.output
    warning = f"warning: {path}, line 1: columns not imported, ignored: colour, weight"
    assert result.output.count(warning) == 1 and result.output.count("ignored") == 1
    assert "2 created" in result.output


def test_rows_with_the_wrong_number_of_fields_or_nul_are_skipped(app, db, tmp_path):
    body = (
        GOOD
        + "1003,Acme, the unquoted comma,x,Acme,100,,,,,\n1004,Short row,x\n1005,Nul\x00title,x,Acme,1,,,,,\n"
    )
    path = _write_csv(tmp_path / "p.csv", body)
    result = _cli(app, path)
    assert result.exit_code == 0, result.output
    assert f"{path}, line 4: 11 fields where the header has 10" in result.output
    assert f"{path}, line 5: 3 fields where the header has 10" in result.output
    assert re.search(rf"{re.escape(str(path))}, line 6, column title: .*NUL.*row skipped", result.output)
    assert set(_products(db)) == {"1001", "1002"}


def test_missing_columns_and_wrong_compression_are_refused(app, db, tmp_path):
    no_price = tmp_path / "p.csv"
    no_price.write_text("product_id,title\n1,x\n", encoding="utf-8")
    result = _cli(app, no_price)
    assert result.exit_code == 1
    assert f"Error: {no_price}, line 1: missing columns: name, brand, price_cents" in result.output
    plain_gz = _write_csv(tmp_path / "plain.csv.gz", GOOD)
    result = _cli(app, plain_gz)
    assert result.exit_code == 1 and "not gzip data although the name ends in .gz" in result.output
    packed = tmp_path / "packed.csv"
    packed.write_bytes(gzip.compress((HEADER + GOOD).encode()))
    result = _cli(app, packed)
    assert result.exit_code == 1 and "gzip data in a file whose name does not end in .gz" in result.output
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = _cli(app, empty)
    assert result.exit_code == 1 and "empty file" in result.output
    assert _products(db) == {}


def _jsonl_gz(path: Path, lines: list[str]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in lines))
    return path


def test_truncated_attributes_file_is_refused(app, db, tmp_path):
    csv_path = _write_csv(tmp_path / "p.csv", GOOD)
    records = [json.dumps({"id": str(n), "attr_t_colour": "black " * 50}) for n in range(3000)]
    jsonl = _jsonl_gz(tmp_path / "full.jsonl.gz", records)
    data = jsonl.read_bytes()
    jsonl.write_bytes(data[: len(data) // 2])
    result = _cli(app, csv_path, "--attributes", jsonl)
    assert result.exit_code == 1
    assert f"Error: {jsonl}, line " in result.output and "truncated" in result.output
    assert _products(db) == {}


def test_bad_attribute_lines_are_skipped_and_never_wipe_stored_attributes(app, db, tmp_path):
    csv_path = _write_csv(tmp_path / "p.csv", GOOD)
    good = _jsonl_gz(
        tmp_path / "first.jsonl.gz",
        [
            json.dumps({"id": "1001", "attr_t_colour": "Silver"}),
            json.dumps({"id": "1002", "attr_t_colour": "Black"}),
        ],
    )
    assert _cli(app, csv_path, "--attributes", good).exit_code == 0
    bad = _jsonl_gz(
        tmp_path / "second.jsonl.gz",
        [
            json.dumps({"id": "1001", "attr_t_colour": "Grey"}),
            '{"id": "1002", "attr_t_colour": "Blue"',  # cut short
            "[1, 2]",
            json.dumps({"attr_t_colour": "no id"}),
        ],
    )
    result = _cli(app, csv_path, "--attributes", bad)
    assert result.exit_code == 0, result.output
    assert (
        f"{bad}, line 2, column 39: not valid JSON (Expecting ',' delimiter); line skipped" in result.output
    )
    assert f"{bad}, line 3: not a JSON object; line skipped" in result.output
    assert f"{bad}, line 4, column id: no product id; line skipped" in result.output
    assert "3 attribute lines skipped." in result.output
    db.session.expire_all()
    colours = {p.sku: p.attributes.get("Colour") for p in db.session.scalars(select(Product))}
    assert colours == {"1001": "Grey", "1002": "Black"}  # 1002 keeps what it had


# ---- staff edits survive a re-import (unless --overwrite-staff-edits) ----


def test_reimport_keeps_a_staff_price_edit_and_lists_it(db, tmp_path):
    from shop.catalog import editing
    from shop.catalog.importer import StaffEdit

    path = _write_csv(tmp_path / "p.csv", GOOD)
    import_catalog(path)
    db.session.commit()
    laptop = db.session.scalar(select(Product).where(Product.sku == "1001"))
    toner = db.session.scalar(select(Product).where(Product.sku == "1002"))
    editing.update_product(laptop.id, {"price_cents": 12345}, None)
    editing.archive_product(toner.id)
    db.session.commit()

    # The source changes the laptop's price and model, and the toner's price.
    _write_csv(
        path,
        GOOD.replace(",10995,", ",9995,").replace("dv7-1211ea", "dv7-1211eb").replace(",4995,", ",4500,"),
    )
    report = import_catalog(path)
    db.session.commit()
    assert sorted(report.staff_edits, key=str) == [
        StaffEdit("1001", "price_cents", 12345, 9995),
        StaffEdit("1002", "status", "archived", "active"),
    ]
    db.session.expire_all()
    laptop, toner = db.session.get(Product, laptop.id), db.session.get(Product, toner.id)
    assert laptop.price_cents == 12345 and laptop.model == "dv7-1211eb"  # the rest is updated
    assert toner.status == "archived" and toner.price_cents == 4500  # not staff-edited: updated
    assert laptop.imported_values["price_cents"] == 9995

    report = import_catalog(path, overwrite_staff_edits=True)
    db.session.commit()
    assert [(e.sku, e.field, e.overwritten) for e in sorted(report.staff_edits, key=str)] == [
        ("1001", "price_cents", True),
        ("1002", "status", True),
    ]
    db.session.expire_all()
    assert db.session.get(Product, laptop.id).price_cents == 9995
    assert db.session.get(Product, toner.id).status == "active"
    assert import_catalog(path).staff_edits == []  # nothing left to protect


def test_import_command_reports_staff_edits_and_overwrites_on_request(app, db, tmp_path):
    from shop.catalog import editing

    path = _write_csv(tmp_path / "p.csv", GOOD)
    assert _cli(app, path).exit_code == 0
    laptop = db.session.scalar(select(Product).where(Product.sku == "1001"))
    editing.update_product(laptop.id, {"name": "HP Pavilion dv7 (staff title)"}, None)
    db.session.commit()
    _write_csv(path, GOOD.replace("Intel Core2 Duo", "Intel Core 2 Duo"))

    result = _cli(app, path)
    assert result.exit_code == 0, result.output
    assert (
        "conflict: product 1001: name 'HP Pavilion dv7 (staff title)' changed by staff, kept" in result.output
    )
    assert "1 staff edits kept (--overwrite-staff-edits replaces them)." in result.output
    db.session.expire_all()
    assert db.session.get(Product, laptop.id).name == "HP Pavilion dv7 (staff title)"

    result = _cli(app, path, "--overwrite-staff-edits")
    assert result.exit_code == 0 and "1 staff edits overwritten." in result.output
    db.session.expire_all()
    assert db.session.get(Product, laptop.id).name.endswith("Intel Core 2 Duo")
