"""Groupings of the management API's usage and billing breakdowns.

>>> from dgnb.protocol.usage import USAGE_GROUPINGS
>>> "models" in USAGE_GROUPINGS
True
"""
from __future__ import annotations

#: ``grouping`` values of ``GET /v1/projects/{id}/usage/breakdown``.
USAGE_GROUPINGS = ("accessor", "endpoint", "feature_set", "models", "method", "tags", "deployment")

#: ``grouping`` values of ``GET /v1/projects/{id}/billing/breakdown``.
BILLING_GROUPINGS = ("accessor", "deployment", "line_item", "tags")
