"""Deterministic benchmark inputs: bank operations (JSON Lines) and a year of readings.

The bank operations look like what a French bank export holds (Cozy's
``io.cozy.bank.operations`` fields): card payments at real-sounding shops with the
card date in the label, SEPA direct debits, transfers, withdrawals and cheques, with
amounts whose distribution depends on the kind. Same seed, same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections.abc import Iterator
from pathlib import Path

__all__ = ["DOCTYPE", "bank_operations", "write_bank_operations", "year_of_minutes"]

DOCTYPE = "io.cozy.bank.operations"

_SHOPS = [
    ("CARREFOUR CITY", "400110", (3, 60)),
    ("MONOPRIX", "400110", (5, 90)),
    ("LIDL", "400110", (8, 120)),
    ("INTERMARCHE", "400110", (10, 150)),
    ("BOULANGERIE PAUL", "400110", (1.2, 15)),
    ("PHARMACIE DU CENTRE", "400610", (4, 45)),
    ("SNCF INTERNET", "400820", (15, 180)),
    ("TCL LYON", "400820", (1.9, 74)),
    ("TOTAL ACCESS", "400830", (20, 95)),
    ("FNAC", "400300", (10, 400)),
    ("DECATHLON", "400300", (8, 250)),
    ("AMAZON PAYMENTS", "400300", (6, 180)),
    ("LEROY MERLIN", "400300", (12, 300)),
    ("RESTAURANT LE BOUCHON", "400140", (15, 80)),
    ("CAFE DES FEDERATIONS", "400140", (4, 40)),
    ("CINEMA PATHE", "400700", (9, 30)),
]
_CITIES = ["LYON", "VILLEURBANNE", "PARIS", "GRENOBLE", "ST ETIENNE", "ANNECY", "VENISSIEUX"]
_DEBITS = [
    ("PRLV SEPA EDF CLIENTS PARTICULIERS", "401010", (40, 160)),
    ("PRLV SEPA ENGIE", "401010", (30, 120)),
    ("PRLV SEPA EAU DU GRAND LYON", "401010", (20, 70)),
    ("PRLV SEPA FREE MOBILE", "401080", (2, 20)),
    ("PRLV SEPA ORANGE SA", "401080", (20, 60)),
    ("PRLV SEPA MAIF ASSURANCE", "400900", (30, 110)),
    ("PRLV SEPA DGFIP IMPOT", "401150", (50, 400)),
    ("PRLV SEPA NAVIGO", "400820", (20, 86)),
]
_CREDITS = [
    ("VIR SEPA SALAIRE ACME INDUSTRIES SAS", "200110", (1800, 3200)),
    ("VIR SEPA CAF DU RHONE", "200130", (80, 400)),
    ("VIR SEPA CPAM RHONE REMBOURSEMENT", "400610", (5, 120)),
    ("VIR INST M DUPONT LOYER", "200120", (300, 700)),
]


def bank_operations(count: int, seed: int = 2016) -> Iterator[dict[str, object]]:
    """``count`` bank operations, about 400 bytes each, spread over a few years."""
    rng = random.Random(seed)
    accounts = [f"{rng.getrandbits(128):032x}" for _ in range(3)]
    start = dt.date(2019, 1, 1)
    days = max(1, count // 12)  # about a dozen operations a day
    for i in range(count):
        day = start + dt.timedelta(days=i * days // count)
        kind = rng.random()
        if kind < 0.72:
            shop, category, (lo, hi) = rng.choice(_SHOPS)
            card_day = day - dt.timedelta(days=rng.randint(0, 3))
            label = f"CB {shop} {card_day:%d/%m} {rng.choice(_CITIES)}"
            original = f"PAIEMENT PAR CARTE {card_day:%d%m%y} {shop} CARTE 4974XXXXXXXX{rng.randint(1000, 9999)}"
            amount, op_type = -_money(rng, lo, hi), "credit card"
        elif kind < 0.88:
            label, category, (lo, hi) = rng.choice(_DEBITS)
            original = f"{label} ECH/{day:%d%m%y} ID EMETTEUR/FR{rng.randint(10**9, 10**10)} MDT/{rng.getrandbits(40):X}"
            amount, op_type = -_money(rng, lo, hi), "direct debit"
        elif kind < 0.95:
            label, category, (lo, hi) = rng.choice(_CREDITS)
            original = f"{label} REF {rng.getrandbits(48):X}"
            amount, op_type = _money(rng, lo, hi), "transfer"
        elif kind < 0.985:
            label = f"RETRAIT DAB {day:%d/%m} {rng.choice(_CITIES)} CARTE {rng.randint(1000, 9999)}"
            original, category = label, "400400"
            amount, op_type = -float(rng.choice((20, 40, 50, 60, 80, 100, 150))), "withdrawal"
        else:
            label = f"CHEQUE {rng.randint(1_000_000, 9_999_999)}"
            original, category = label, "0"
            amount, op_type = -_money(rng, 10, 600), "check"
        iso = f"{day.isoformat()}T00:00:00.000Z"
        yield {
            "date": iso,
            "realisationDate": iso,
            "valueDate": iso,
            "label": label,
            "originalBankLabel": original,
            "amount": amount,
            "currency": "EUR",
            "type": op_type,
            "account": accounts[rng.randrange(len(accounts)) if i % 7 == 0 else 0],
            "vendorId": str(100_000_000 + rng.randrange(10_000_000)),
            "automaticCategoryId": category,
            "metadata": {"dateImport": f"{day.isoformat()}T06:12:00.000Z", "version": 1},
        }


def _money(rng: random.Random, lo: float, hi: float) -> float:
    """Log-uniform between ``lo`` and ``hi``, in cents."""
    return round(math.exp(rng.uniform(math.log(lo), math.log(hi))), 2)


def write_bank_operations(path: Path, count: int, seed: int = 2016) -> int:
    """Write ``count`` operations as JSON Lines (UTF-8, one object a line); returns bytes."""
    with path.open("w", encoding="utf-8") as out:
        for op in bank_operations(count, seed):
            out.write(json.dumps(op, ensure_ascii=False))
            out.write("\n")
    return path.stat().st_size


def year_of_minutes(year: int = 2023) -> tuple[list[int], list[float]]:
    """525,600 one-minute readings of a household's power (W): daily shape plus noise."""
    rng = random.Random(year)
    start = int(dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp())
    stamps = list(range(start, start + 365 * 86_400, 60))
    values = []
    for ts in stamps:
        hour = (ts % 86_400) / 3600
        base = 250 + 900 * max(0.0, math.sin((hour - 6) / 24 * 2 * math.pi)) ** 2
        spike = 1800 if rng.random() < 0.02 else 0
        values.append(round(max(0.0, base + rng.gauss(0, 60) + spike), 1))
    return stamps, values
