"""Payment providers behind one small interface.

A provider is chosen at checkout and told about the new order inside the checkout
transaction. ``card`` sends the shopper to Stripe's hosted Checkout after the order is
committed (``shop/payments/cards.py``); the order becomes paid only from Stripe's signed
webhook. ``manual`` (bank transfer or cash on delivery) leaves the order waiting until
staff mark it paid; ``test`` pays at once and exists only outside production.
``PAYMENT_PROVIDERS`` (config) lists the enabled ones, in the order shown to shoppers;
``card`` is offered only when its keys are set.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app

from shop.exceptions import ValidationFailed


@dataclass(frozen=True)
class PaymentOutcome:
    """What a provider did with a new order.

    Attributes:
        paid: the money is in; checkout moves the order to ``paid``.
        reference: the provider's reference for the payment ('' if none yet).
        note: recorded on the order event when ``paid``.
        redirect: the shopper pays on the provider's page next (checkout sends them there
            once the order is committed).
    """

    paid: bool
    reference: str = ""
    note: str = ""
    redirect: bool = False


class PaymentProvider:
    """Base class: a named way to pay. Subclasses implement :meth:`start`."""

    name = ""
    label = ""
    description = ""
    #: Only for development and tests; never offered in production.
    test_only = False

    def configured(self, config: Mapping) -> bool:
        """True when the provider can be offered under ``config`` (its settings are complete)."""
        return True

    def start(self, order) -> PaymentOutcome:
        """Begin paying for ``order`` (already flushed, status ``pending_payment``)."""
        raise NotImplementedError

    def instructions(self, order) -> str:
        """Plain text telling the shopper what to do next (shown and e-mailed)."""
        return ""


class ManualProvider(PaymentProvider):
    """Bank transfer or cash on delivery: staff mark the order paid when money arrives."""

    name = "manual"
    label = "Bank transfer or cash on delivery"
    description = "Pay by bank transfer, or in cash when the parcel arrives. We ship once paid."

    def start(self, order) -> PaymentOutcome:
        """Nothing happens yet; the order waits for staff to confirm the payment."""
        return PaymentOutcome(paid=False)

    def instructions(self, order) -> str:
        """Transfer details with the order number as the payment reference."""
        return (
            f"Please transfer the total to our bank account quoting {order.number} as the "
            "reference, or choose to pay in cash on delivery. We ship as soon as the "
            "payment is confirmed."
        )


class CardProvider(PaymentProvider):
    """Cards through Stripe's hosted Checkout: card data never touches the shop."""

    name = "card"
    label = "Card"
    description = "Pay by card on Stripe's secure payment page; your card details never reach this shop."

    def configured(self, config: Mapping) -> bool:
        """Offered only with ``STRIPE_SECRET_KEY`` and ``STRIPE_WEBHOOK_SECRET`` set."""
        return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_WEBHOOK_SECRET"))

    def start(self, order) -> PaymentOutcome:
        """Nothing is paid yet: the shopper goes to Stripe's page after the commit."""
        return PaymentOutcome(paid=False, redirect=True)

    def instructions(self, order) -> str:
        """What happens with a card order."""
        if order.status == "pending_payment":
            return (
                "Your order is reserved while you pay by card. If you left the payment page, "
                "use “Pay now” on your order page; unpaid orders are cancelled after a while."
            )
        return "Paid by card."


class TestProvider(PaymentProvider):
    """Pays immediately (development and automated tests only)."""

    __test__ = False  # not a pytest test class
    name = "test"
    label = "Test payment (pays at once)"
    description = "For development and testing: the order is paid immediately."
    test_only = True

    def start(self, order) -> PaymentOutcome:
        """Mark the order paid with a random test reference."""
        return PaymentOutcome(
            paid=True, reference="test_" + secrets.token_hex(8), note="Paid with the test provider."
        )

    def instructions(self, order) -> str:
        """No action needed."""
        return "This order was paid with the test provider."


_REGISTRY: dict[str, PaymentProvider] = {
    p.name: p for p in (CardProvider(), ManualProvider(), TestProvider())
}


def enabled_names(config: Mapping) -> list[str]:
    """Names of the providers ``config`` enables: ``PAYMENT_PROVIDERS`` in order, without
    test-only ones in production and without ones whose settings are missing (``card``
    without keys). The API documents exactly these as ``payment_provider``'s choices."""
    production = config.get("ENV_NAME") == "production"
    names = []
    for name in config.get("PAYMENT_PROVIDERS", []):
        provider = _REGISTRY.get(name)
        if provider is None or (production and provider.test_only) or not provider.configured(config):
            continue
        names.append(name)
    return names


def enabled_providers() -> list[PaymentProvider]:
    """The enabled providers (:func:`enabled_names`), in config order."""
    return [_REGISTRY[name] for name in enabled_names(current_app.config)]


def default_provider_name() -> str | None:
    """The first enabled provider's name (None if none is enabled)."""
    enabled = enabled_providers()
    return enabled[0].name if enabled else None


def get_provider(name: str | None) -> PaymentProvider:
    """The enabled provider called ``name`` (None: the default one).

    Raises:
        ValidationFailed: unknown or disabled provider, or none enabled (422).
    """
    enabled = {p.name: p for p in enabled_providers()}
    if name is None:
        name = default_provider_name()
    provider = enabled.get(name or "")
    if provider is None:
        choices = ", ".join(enabled) or "none"
        raise ValidationFailed(
            f"Payment provider {name!r} is not available.",
            {"payment_provider": [f"Must be one of: {choices}."]},
        )
    return provider


def find_provider(name: str) -> PaymentProvider | None:
    """The provider called ``name``, enabled or not (for showing existing orders)."""
    return _REGISTRY.get(name)


def provider_label(name: str) -> str:
    """Human label of a provider name (the name itself if unknown)."""
    provider = _REGISTRY.get(name)
    return provider.label if provider else name
