"""Staff pricing services without HTTP: every rule and refusal for shipping methods, tax
rates and discount codes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from shop.exceptions import Conflict, NotFound, ValidationFailed
from shop.orders.models import Order
from shop.pricing import code_services, services
from shop.pricing.models import DiscountCode, DiscountRedemption, ShippingMethod, TaxRate
from tests.factories import ADDRESS, make_category, make_user

UTC = timezone.utc


def _errors(excinfo) -> dict:
    return excinfo.value.errors


# --- shipping methods ---------------------------------------------------------------------


def test_shipping_method_created_with_normalized_countries_and_sorted_bands(db):
    method = services.create_shipping_method(
        {
            "name": "  Standard  ",
            "countries": ["us", " ca", "US"],
            "rate_kind": "weight",
            "bands": [[5000, 1295], [1000, 495]],
            "free_above_cents": 10000,
            "min_days": 2,
            "max_days": 4,
        }
    )
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(ShippingMethod, method.id)
    assert stored.name == "Standard"
    assert stored.countries == ["US", "CA"]
    assert stored.bands == [[1000, 495], [5000, 1295]]
    assert (stored.free_above_cents, stored.min_days, stored.max_days, stored.is_active) == (
        10000,
        2,
        4,
        True,
    )
    assert stored.serves("ca") and not stored.serves("DE")


def test_shipping_method_with_no_countries_serves_every_country(db):
    method = services.create_shipping_method(
        {"name": "World", "price_cents": 1500, "min_days": 5, "max_days": 10}
    )
    assert method.countries == [] and method.serves("JP")
    assert (method.rate_kind, method.price_cents) == ("flat", 1500)


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"name": "   "}, "name", "Required."),
        ({"countries": ["US", "XX", "Germany"]}, "countries", "XX, Germany"),
        ({"rate_kind": "volume"}, "rate_kind", "flat, subtotal, weight"),
        ({"rate_kind": "subtotal", "bands": []}, "bands", "at least one band"),
        ({"rate_kind": "weight", "bands": [[1000, 495], [1000, 695]]}, "bands", "strictly increase"),
        ({"rate_kind": "weight", "bands": [[1000, -1]]}, "bands", "0 or more"),
        ({"rate_kind": "weight", "bands": [[1000]]}, "bands", "pairs"),
        ({"price_cents": -5}, "price_cents", "0 or more"),
        ({"free_above_cents": -1}, "free_above_cents", "0 or more"),
        ({"min_days": 5, "max_days": 2}, "max_days", "at least the minimum"),
        ({"colour": "red"}, "colour", "Unknown field."),
    ],
)
def test_shipping_method_rules(db, changes, field, message):
    data = {"name": "Standard", "price_cents": 495, "min_days": 1, "max_days": 3, **changes}
    with pytest.raises(ValidationFailed) as excinfo:
        services.create_shipping_method(data)
    assert message in " ".join(_errors(excinfo)[field])
    assert db.session.scalar(select(func.count(ShippingMethod.id))) == 0


def test_shipping_method_update_checks_the_result_as_a_whole(db):
    method = services.create_shipping_method(
        {"name": "Express", "price_cents": 995, "min_days": 1, "max_days": 2}
    )
    db.session.commit()
    with pytest.raises(ValidationFailed) as excinfo:
        services.update_shipping_method(method.id, {"min_days": 3})  # max_days stays 2
    assert "max_days" in _errors(excinfo)
    db.session.rollback()
    services.update_shipping_method(method.id, {"rate_kind": "subtotal", "bands": [[5000, 495], [20000, 0]]})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(ShippingMethod, method.id).bands == [[5000, 495], [20000, 0]]


def test_shipping_method_delete_keeps_orders_name(db):
    method = services.create_shipping_method(
        {"name": "Courier", "price_cents": 995, "min_days": 1, "max_days": 2}
    )
    order = Order(
        number="ORD-SHIPDEL",
        email="a@example.com",
        currency="USD",
        subtotal_cents=1000,
        shipping_cents=995,
        total_cents=1995,
        shipping_method_id=method.id,
        shipping_method_name="Courier",
        shipping_address=ADDRESS,
    )
    db.session.add(order)
    db.session.commit()
    services.delete_shipping_method(method.id)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(ShippingMethod, method.id) is None
    assert (order.shipping_method_id, order.shipping_method_name) == (None, "Courier")
    with pytest.raises(NotFound):
        services.delete_shipping_method(method.id)


# --- tax rates ----------------------------------------------------------------------------


def test_tax_rate_created_trimmed_and_upper_cased(db):
    rate = services.create_tax_rate({"country": "us", "region": " NY ", "name": "Sales tax", "rate_bp": 888})
    db.session.commit()
    assert (rate.country, rate.region, rate.name, rate.rate_bp) == ("US", "NY", "Sales tax", 888)
    assert [r.id for r in services.list_tax_rates()] == [rate.id]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"country": "XX"}, "country"),
        ({"country": "USA"}, "country"),
        ({"name": ""}, "name"),
        ({"rate_bp": 10001}, "rate_bp"),
        ({"rate_bp": -1}, "rate_bp"),
        ({"rate_bp": "20"}, "rate_bp"),
        ({"rate_bp": None}, "rate_bp"),
    ],
)
def test_tax_rate_rules(db, changes, field):
    data = {"country": "DE", "region": "", "name": "VAT", "rate_bp": 1900, **changes}
    with pytest.raises(ValidationFailed) as excinfo:
        services.create_tax_rate(data)
    assert field in _errors(excinfo)


def test_one_tax_rate_per_country_and_region(db):
    services.create_tax_rate({"country": "US", "region": "", "name": "Sales tax", "rate_bp": 500})
    ny = services.create_tax_rate({"country": "US", "region": "NY", "name": "Sales tax", "rate_bp": 888})
    db.session.commit()
    with pytest.raises(Conflict) as excinfo:
        services.create_tax_rate({"country": "us", "region": "NY ", "name": "Other", "rate_bp": 100})
    assert "already a tax rate for US, region NY" in excinfo.value.detail and "region" in _errors(excinfo)
    db.session.rollback()
    with pytest.raises(Conflict) as excinfo:
        services.update_tax_rate(ny.id, {"region": ""})
    assert "whole country" in excinfo.value.detail and "country" in _errors(excinfo)
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(TaxRate, ny.id).region == "NY"
    assert db.session.scalar(select(func.count(TaxRate.id))) == 2


def test_tax_rate_update_and_delete(db):
    rate = services.create_tax_rate({"country": "GB", "name": "VAT", "rate_bp": 2000})
    db.session.commit()
    services.update_tax_rate(rate.id, {"rate_bp": 500, "name": "Reduced VAT"})
    db.session.commit()
    db.session.expire_all()
    assert (rate.rate_bp, rate.name) == (500, "Reduced VAT")
    services.delete_tax_rate(rate.id)
    db.session.commit()
    assert db.session.get(TaxRate, rate.id) is None
    with pytest.raises(NotFound):
        services.update_tax_rate(rate.id, {"rate_bp": 1})


# --- discount codes -----------------------------------------------------------------------


def _code(**overrides) -> dict:
    return {"code": "SUMMER-10", "kind": "percentage", "value": 1000, **overrides}


def test_discount_code_stored_upper_case_and_trimmed(db):
    cat = make_category("Laptops")
    start = datetime(2030, 6, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    code = code_services.create_discount_code(
        _code(code="  summer_10 ", category_id=cat.id, starts_at=start, max_uses=100, min_subtotal_cents=5000)
    )
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(DiscountCode, code.id)
    assert stored.code == "SUMMER_10"
    assert stored.starts_at == datetime(2030, 6, 1, 10, tzinfo=UTC)
    assert (stored.category_id, stored.max_uses, stored.min_subtotal_cents) == (cat.id, 100, 5000)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"code": "AB"}, "code"),
        ({"code": "-SUMMER"}, "code"),
        ({"code": "SUMMER 10"}, "code"),
        ({"code": "X" * 41}, "code"),
        ({"code": ""}, "code"),
        ({"kind": "bogo"}, "kind"),
        ({"kind": "percentage", "value": 0}, "value"),
        ({"kind": "percentage", "value": 10001}, "value"),
        ({"kind": "fixed", "value": 0}, "value"),
        ({"kind": "fixed", "value": None}, "value"),
        ({"category_id": 999}, "category_id"),
        ({"min_subtotal_cents": -1}, "min_subtotal_cents"),
        ({"max_uses": 0}, "max_uses"),
        ({"max_uses_per_customer": -2}, "max_uses_per_customer"),
        ({"starts_at": datetime(2030, 1, 1)}, "starts_at"),  # naive
        (
            {"starts_at": datetime(2030, 1, 2, tzinfo=UTC), "ends_at": datetime(2030, 1, 1, tzinfo=UTC)},
            "ends_at",
        ),
        (
            {"starts_at": datetime(2030, 1, 1, tzinfo=UTC), "ends_at": datetime(2030, 1, 1, tzinfo=UTC)},
            "ends_at",
        ),
    ],
)
def test_discount_code_rules(db, changes, field):
    with pytest.raises(ValidationFailed) as excinfo:
        code_services.create_discount_code(_code(**changes))
    assert field in _errors(excinfo)
    assert db.session.scalar(select(func.count(DiscountCode.id))) == 0


def test_fixed_code_takes_cents_and_percentage_up_to_all(db):
    fixed = code_services.create_discount_code(_code(code="FIVE-OFF", kind="fixed", value=500))
    everything = code_services.create_discount_code(_code(code="FREE-ALL", value=10000))
    db.session.commit()
    assert (fixed.kind, fixed.value, everything.value) == ("fixed", 500, 10000)


def test_discount_code_must_be_unique_whatever_the_case(db):
    first = code_services.create_discount_code(_code())
    other = code_services.create_discount_code(_code(code="WINTER"))
    db.session.commit()
    with pytest.raises(Conflict) as excinfo:
        code_services.create_discount_code(_code(code="summer-10"))
    assert "SUMMER-10 exists already" in excinfo.value.detail and "code" in _errors(excinfo)
    db.session.rollback()
    with pytest.raises(Conflict):
        code_services.update_discount_code(other.id, {"code": "Summer-10"})
    db.session.rollback()
    code_services.update_discount_code(first.id, {"code": "summer-10", "value": 1500})  # its own code is fine
    db.session.commit()
    assert db.session.scalar(select(func.count(DiscountCode.id))) == 2


def _use(db, code: DiscountCode, times: int) -> None:
    """``times`` placed orders that used ``code``."""
    user = make_user()
    for n in range(times):
        order = Order(
            number=f"ORD-{code.code}-{n}",
            user_id=user.id,
            email=user.email,
            currency="USD",
            subtotal_cents=10000,
            discount_cents=1000,
            discount_code=code.code,
            total_cents=9000,
            shipping_address=ADDRESS,
        )
        db.session.add(order)
        db.session.flush()
        db.session.add(
            DiscountRedemption(
                code_id=code.id, order_id=order.id, user_id=user.id, email=user.email, amount_cents=1000
            )
        )
    code.times_used += times
    db.session.commit()


def test_max_uses_cannot_go_below_times_used(db):
    code = code_services.create_discount_code(_code(max_uses=10))
    db.session.commit()
    _use(db, code, 3)
    with pytest.raises(ValidationFailed) as excinfo:
        code_services.update_discount_code(code.id, {"max_uses": 2})
    assert "used 3 times" in _errors(excinfo)["max_uses"][0]
    db.session.rollback()
    code_services.update_discount_code(code.id, {"max_uses": 3})
    db.session.commit()
    code_services.update_discount_code(code.id, {"max_uses": None})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(DiscountCode, code.id).max_uses is None


def test_a_used_code_cannot_be_deleted_only_deactivated(db):
    code = code_services.create_discount_code(_code())
    db.session.commit()
    _use(db, code, 1)
    with pytest.raises(Conflict) as excinfo:
        code_services.delete_discount_code(code.id)
    assert "used on 1 order" in excinfo.value.detail and "Deactivate it instead" in excinfo.value.detail
    db.session.rollback()
    code_services.update_discount_code(code.id, {"is_active": False})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(DiscountCode, code.id).is_active is False


def test_a_code_whose_uses_were_all_released_still_cannot_be_deleted(db):
    code = code_services.create_discount_code(_code())
    db.session.commit()
    _use(db, code, 1)
    code.times_used = 0  # the order was cancelled and its use given back
    db.session.commit()
    with pytest.raises(Conflict):
        code_services.delete_discount_code(code.id)


def test_an_unused_code_is_deleted(db):
    code = code_services.create_discount_code(_code())
    db.session.commit()
    code_services.delete_discount_code(code.id)
    db.session.commit()
    assert db.session.get(DiscountCode, code.id) is None
    with pytest.raises(NotFound):
        code_services.get_discount_code(code.id)


def test_code_query_finds_part_of_a_code_case_insensitively(db):
    for text in ("SUMMER-10", "SUMMER-20", "WINTER_5"):
        code_services.create_discount_code(_code(code=text))
    db.session.commit()
    found = db.session.scalars(code_services.discount_code_query("mmer")).all()
    assert [c.code for c in found] == ["SUMMER-10", "SUMMER-20"]
    assert db.session.scalars(code_services.discount_code_query("%")).all() == []
