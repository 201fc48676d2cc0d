"""Pricing: shipping methods, tax rates, discount codes and the one totals calculator."""
