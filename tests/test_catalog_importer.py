"""Catalog import: idempotency, bad rows, HTML cleaning, stock ledger, category coverage."""

from __future__ import annotations

import gzip
import json
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
    lines = {line: msg for line, msg in report.errors}
    assert sorted(lines) == [4, 5, 6, 9]
    assert "no title" in lines[4] and "bad price" in lines[5] and "bad price" in lines[6]
    assert "duplicate" in lines[9]
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
    assert "line 4: product 1003: no title" in result.output
    assert "Category coverage: 2/2" in result.output
    assert db.session.scalar(select(func.count()).select_from(Product)) == 2
