"""Addresses: the rules every postal address of the shop obeys (per country) and the
customer's address book.

The address book's pages live under ``/account`` and its endpoints under ``/api/v1``, on
the account blueprints (``shop.auth.bp`` and ``shop.auth.api_bp``): they are part of the
signed-in customer's account.
"""
