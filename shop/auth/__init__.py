"""Accounts: register, log in and out, account page, API tokens."""

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

bp = Blueprint("auth", __name__)
api_bp = ApiBlueprint("auth_api", __name__, description="Accounts and API tokens")
