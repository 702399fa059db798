"""Open-data contribution: anonymised aggregates, shared only after a preview and consent.

See docs/contribution.md: what is sent (monthly electricity use per area, with Laplace
noise of a documented ε and a k-anonymity threshold the collector must honour), where,
and what is recorded in the ledger.
"""

from __future__ import annotations

from .desk import PAYLOAD_TYPE, Contribution, monthly_use
from .privacy import laplace, privatize
from .settings import DATASETS, Settings

__all__ = [
    "DATASETS",
    "PAYLOAD_TYPE",
    "Contribution",
    "Settings",
    "laplace",
    "monthly_use",
    "privatize",
]
