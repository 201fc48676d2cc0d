"""Payments: providers, card payments through Stripe, webhooks, refunds and unpaid orders."""

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

bp = Blueprint("payments", __name__)
api_bp = ApiBlueprint("payments_api", __name__, description="Refunds")
