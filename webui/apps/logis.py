"""Mon Logis: one home dashboard across energy, water, insurance and telecom.

Bills (``io.cozy.bills``) are sorted into the household's domains by their ``type``,
then by the vendor's name; energy contracts (``selfdata.energy.contracts``) by their
``energy``. Each domain shows its contracts, its last bill, what it costs over a year
and per month, and when the next bill is due.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from .budget import Bill, RecurringBill

__all__ = ["DOMAINS", "Domain", "domain_of", "domains"]

#: domain → (English label, words in a bill's type or vendor that place it there)
DOMAINS: dict[str, tuple[str, tuple[str, ...]]] = {
    "electricity": (
        "Electricity",
        (
            "electricity",
            "électricité",
            "electricite",
            "edf",
            "enedis",
            "enercoop",
            "totalenergies",
            "ekwateur",
            "mint",
            "octopus",
            "ilek",
            "vattenfall",
        ),
    ),
    "gas": ("Gas", ("gas", "gaz", "grdf", "engie", "butagaz", "antargaz")),
    "water": ("Water", ("water", "eau", "veolia", "suez", "saur", "eau du grand lyon")),
    "insurance": (
        "Insurance",
        (
            "insurance",
            "assurance",
            "maif",
            "macif",
            "matmut",
            "axa",
            "allianz",
            "groupama",
            "gmf",
            "mma",
            "maaf",
            "generali",
            "lcl assurances",
        ),
    ),
    "telecom": (
        "Telecom and internet",
        (
            "telecom",
            "phone",
            "internet",
            "isp",
            "mobile",
            "orange",
            "sosh",
            "sfr",
            "free",
            "bouygues",
            "red by sfr",
            "b&you",
            "la poste mobile",
        ),
    ),
}


def domain_of(bill_type: str, vendor: str) -> str | None:
    for text in (bill_type, vendor):
        words = set(re.split(r"[^a-zà-ÿ&]+", text.lower()))
        low = text.lower()
        for key, (_, keys) in DOMAINS.items():
            if any((k in words) if " " not in k else (k in low) for k in keys):
                return key
    return None


@dataclass
class Domain:
    key: str
    label: str
    contracts: list[dict[str, Any]] = field(default_factory=list)
    bills: list[Bill] = field(default_factory=list)
    recurring: RecurringBill | None = None

    @property
    def last_bill(self) -> Bill | None:
        return self.bills[-1] if self.bills else None

    def year_total(self, today: dt.date) -> float:
        since = today - dt.timedelta(days=365)
        return sum(b.amount for b in self.bills if b.date > since)

    @property
    def currency(self) -> str:
        return self.bills[-1].currency if self.bills else "EUR"


def domains(
    contracts: list[dict[str, Any]], bills: list[Bill], recurring: list[RecurringBill]
) -> list[Domain]:
    out = {key: Domain(key, label) for key, (label, _) in DOMAINS.items()}
    for contract in contracts:
        energy = contract.get("energy")
        if energy in out:
            out[energy].contracts.append(contract)
    for bill in bills:
        key = domain_of(bill.type, bill.vendor)
        if key:
            out[key].bills.append(bill)
    for group in recurring:
        key = domain_of(group.type, group.vendor)
        if not key:
            continue
        current = out[key].recurring
        if current is None or group.yearly > current.yearly:
            out[key].recurring = group
    return list(out.values())
