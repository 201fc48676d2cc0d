"""Cart, checkout and orders."""

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

bp = Blueprint("orders", __name__)
api_bp = ApiBlueprint("orders_api", __name__, description="Cart and orders")
