"""Bank statements: OFX v1/v2, QIF and CAMT.053 samples into a real box, deduplicated."""

from __future__ import annotations

import io
import re
from collections import Counter
from decimal import Decimal

import pytest
from selfdata.box import Box
from selfdata.connectors.bank import camt, ofx, qif
from selfdata.connectors.bank.model import Account, Operation, parse_amount
from selfdata.connectors.bank.store import ACCOUNTS, OPERATIONS
from selfdata.connectors.files import detect_source
from selfdata.connectors.sinks import SourceFile

from .file_helpers import counts, documents, ingest, sample

JAN = sample("bank", "banque-regionale-2024-01.ofx")
FEB = sample("bank", "banque-regionale-2024-02.ofx")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("-12.50", "-12.50"),
        ("-12,50", "-12.50"),
        ("+2150,00", "2150.00"),
        ("1 234,56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("12", "12"),
        ("abc", None),
        ("NaN", None),
        ("", None),
    ],
)
def test_amounts_in_every_spelling_banks_use(text: str, value: str | None) -> None:
    assert parse_amount(text) == (Decimal(value) if value else None)


async def test_a_french_ofx_v1_in_windows_1252_comes_in_whole(box: Box) -> None:
    report = await ingest(box, "releve.ofx", JAN)
    assert report["format"] == "ofx"
    assert counts(report, OPERATIONS) == (5, 0, 0)
    assert report["errors"] == 1  # the line whose DTPOSTED is "2024013X"
    assert "2024013X" in report["error_samples"][0]["message"]
    (account,) = await documents(box, ACCOUNTS)
    assert account["number"] == "00012345678"
    assert account["institutionLabel"] == "Banque Régionale"
    assert account["balance"] == 1523.45
    assert account["metadata"]["balanceDate"] == "2024-01-31"
    ops = {op["vendorId"]: op for op in await documents(box, OPERATIONS)}
    bread = ops["2024010200001"]
    # the date is the bank's day, not shifted by its [+1:CET]
    assert bread["date"] == "2024-01-02T00:00:00Z"
    assert bread["amount"] == -12.5
    assert bread["label"] == "CB BOULANGERIE DU MARCHÉ"
    assert bread["originalBankLabel"].endswith("CARTE 4970XXXXXXXX1234")
    assert bread["currency"] == "EUR"
    assert bread["account"] == account["_id"]
    assert ops["2024011000003"]["amount"] == 2150.0
    assert (
        ops["2024011000003"]["originalBankLabel"] == "VIR SALAIRE JANVIER VIR SEPA M&M CONSEIL SARL"
    )
    assert ops["2024010500002"]["label"] == "PRLV SEPA EDF CLIENTS PARTICULIERS"  # empty <MEMO>
    # <NAME>…</NAME> closed in one transaction and not in the next: both read
    assert ops["2024012000004"]["label"] == ops["2024012000005"]["label"] == "CB CAFÉ DE LA GARE"


async def test_the_same_statement_twice_changes_nothing(box: Box) -> None:
    await ingest(box, "releve.ofx", JAN)
    again = await ingest(box, "releve (1).ofx", JAN)
    assert counts(again, OPERATIONS) == (0, 0, 5)
    assert len(await documents(box, OPERATIONS)) == 5


async def test_overlapping_statements_never_duplicate_and_keep_the_newest_balance(
    box: Box,
) -> None:
    await ingest(box, "janvier.ofx", JAN)
    feb = await ingest(box, "fevrier.ofx", FEB)
    assert counts(feb, OPERATIONS) == (1, 0, 2)  # the two coffees of the 20th were known
    assert len(await documents(box, OPERATIONS)) == 6
    # January imported again, after February: February's balance stays
    await ingest(box, "janvier.ofx", JAN)
    (account,) = await documents(box, ACCOUNTS)
    assert account["balance"] == 1461.65
    assert account["metadata"]["balanceDate"] == "2024-02-29"


async def test_an_ofx_v2_xml_file_with_utf8_cdata_and_a_credit_card(box: Box) -> None:
    report = await ingest(box, "spec.ofx", sample("bank", "spec-v211.ofx"))
    assert report["errors"] == 0
    assert counts(report, OPERATIONS) == (4, 0, 0)
    accounts = {a["number"]: a for a in await documents(box, ACCOUNTS)}
    assert accounts["999988"]["type"] == "Checkings"
    assert accounts["999988"]["balance"] == 200.29
    assert accounts["4111111111111111"]["type"] == "CreditCard"
    assert accounts["4111111111111111"]["balance"] == -35.1
    ops = {op["vendorId"]: op for op in await documents(box, OPERATIONS)}
    assert ops["00002"]["label"] == "CHECK 1000"
    assert ops["00004"]["label"] == "Crêperie & Café Zoë"
    assert ops["00004"]["originalBankLabel"] == "Crêperie & Café Zoë Card 1234 <contactless>"
    assert ops["CC-20051012-1"]["date"] == "2005-10-12T00:00:00Z"  # [-5:EST] ignored
    assert ops["CC-20051012-1"]["account"] == accounts["4111111111111111"]["_id"]


async def test_a_qif_from_credit_agricole_with_day_first_dates(box: Box) -> None:
    report = await ingest(box, "CA20240131.qif", sample("bank", "credit-agricole-2024-01.qif"))
    assert report["format"] == "qif"
    assert counts(report, OPERATIONS) == (6, 0, 0)
    assert [e["message"] for e in report["error_samples"]] == ["date '32/01/2024' is not a date"]
    ops = sorted(await documents(box, OPERATIONS), key=lambda o: (o["date"], o["_id"]))
    assert [o["date"][:10] for o in ops] == [
        "2024-01-02",
        "2024-01-05",
        "2024-01-20",
        "2024-01-20",
        "2024-01-25",
        "2024-01-31",
    ]
    assert ops[0]["label"] == "CB BOULANGERIE DU MARCHÉ 30/12"  # Windows-1252 read right
    assert ops[-1]["amount"] == 2150.0  # "T+2 150,00"
    assert ops[1]["originalBankLabel"] == "PRLV SEPA EDF CLIENTS PARTICULIERS Echeance 05/01/2024"
    # two identical coffees on one day are two operations, with different ids
    coffees = [o for o in ops if o["label"] == "CB CAFÉ DE LA GARE"]
    assert len({c["_id"] for c in coffees}) == 2


async def test_overlapping_qif_exports_line_up_by_occurrence(box: Box) -> None:
    january = sample("bank", "credit-agricole-2024-01.qif").decode("cp1252")
    # the next export starts on the 20th: both coffees again, then new ones
    february = "!Type:Bank\r\n" + january[january.index("D20/01/2024") :].replace(
        "D32/01/2024", "D03/02/2024"
    )
    await ingest(box, "janvier.qif", january.encode("cp1252"))
    report = await ingest(box, "fevrier.qif", february.encode("utf-8"))
    assert counts(report, OPERATIONS) == (1, 0, 4)
    assert len(await documents(box, OPERATIONS)) == 7


async def test_a_qif_account_block_names_the_account(box: Box) -> None:
    report = await ingest(box, "export.qif", sample("bank", "boursorama-2024-02.qif"))
    assert counts(report, OPERATIONS) == (3, 0, 0)
    (account,) = await documents(box, ACCOUNTS)
    assert account["label"] == "Compte Boursorama"


def test_qif_dates_month_first_when_the_file_says_so() -> None:
    text = b"!Type:Bank\nD1/2'24\nT-1.00\nPA\n^\nD12/31'23\nT-2.00\nPB\n^\n"
    ops = [op for op in qif.parse_qif(text, "us.qif") if isinstance(op, Operation)]
    assert [op.date.isoformat() for op in ops] == ["2024-01-02", "2023-12-31"]


MARCH = [
    ("2024-03-04", -45.0, "CB  PHARMACIE DU PONT   02/03"),
    ("2024-03-14", -12.8, "CB  BOULANGERIE DU FOUR 13/03/24"),
    ("2024-03-15", 1250.0, "VIR SEPA SALAIRE MARS"),  # no payee: the memo
    ("2024-03-28", -80.0, "operation"),  # a cheque: only "N0000412"
]


async def test_us_or_french_dates_of_one_account_are_the_same_operations(box: Box) -> None:
    # "D03/04/24" could be either; "D03/14/24", later, says month first for the whole file
    us = await ingest(box, "money.qif", sample("bank", "money-date-us-2024-03.qif"))
    assert us["errors"] == 0
    ops = sorted(await documents(box, OPERATIONS), key=lambda o: o["date"])
    assert [(o["date"][:10], o["amount"], o["label"]) for o in ops] == MARCH
    assert ops[-1]["type"] == "check"
    # the same days written day first ("D04/03/24", "D14/03/24"): nothing new
    fr = await ingest(box, "quicken.qif", sample("bank", "quicken-date-fr-2024-03.qif"))
    assert counts(fr, OPERATIONS) == (0, 0, 4)


async def test_a_quicken_2000_export_with_a_lower_case_header_and_blank_lines(box: Box) -> None:
    report = await ingest(box, "q2000.qif", sample("bank", "quicken2000-2024-03.qif"))
    assert counts(report, OPERATIONS) == (5, 0, 0)
    ops = sorted(await documents(box, OPERATIONS), key=lambda o: o["date"])
    # newest first in the file; "D29/02/24" (a leap day) reads day first
    assert [o["date"][:10] for o in ops] == [
        "2024-02-20",
        "2024-02-29",
        "2024-03-04",
        "2024-03-08",
        "2024-03-11",
    ]
    assert ops[-1]["label"] == "N\u00b0 0004127"  # the memo, in Windows-1252; "CHQ NO" is N


async def test_a_camt053_statement_books_only_booked_entries(box: Box) -> None:
    report = await ingest(box, "camt.xml", sample("bank", "camt053-2024-01.xml"))
    assert report["format"] == "camt"
    assert counts(report, OPERATIONS) == (3, 0, 0)
    assert report["errors"] == 1  # <Amt>abc</Amt>
    assert report["notes"] == ["1 pending (not booked) entries left out: they come back booked"]
    (account,) = await documents(box, ACCOUNTS)
    assert account["iban"] == "FR7630004001230001234567890"
    assert account["label"] == "Compte courant"
    assert account["balance"] == 2580.30  # CLBD, not OPBD
    ops = {op["vendorId"]: op for op in await documents(box, OPERATIONS)}
    assert ops["2024010200001"]["amount"] == -12.5
    assert ops["2024011000003"]["label"] == "M&M CONSEIL SARL"  # the debtor of a credit
    assert ops["2024010500002"]["label"] == "EDF CLIENTS PARTICULIERS"  # the creditor of a debit
    assert ops["2024010500002"]["originalBankLabel"] == (
        "PRLV SEPA EDF ECHEANCE 05/01/2024 CONTRAT 1234"
    )
    again = await ingest(box, "camt.xml", sample("bank", "camt053-2024-01.xml"))
    assert counts(again, OPERATIONS) == (0, 0, 3)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("banque-regionale-2024-01.ofx", "ofx"),
        ("spec-v211.ofx", "ofx"),
        ("credit-agricole-2024-01.qif", "qif"),
        ("boursorama-2024-02.qif", "qif"),
        ("camt053-2024-01.xml", "camt"),
        ("camt053-multidevises-2024-03.xml", "camt"),
        ("money-date-us-2024-03.qif", "qif"),
        ("quicken2000-2024-03.qif", "qif"),  # "!type:Bank", lower case
        # exported by real banks (see samples/bank/README.md)
        ("ofxparse-v102-empty-tags.ofx", "ofx"),  # after twelve blank lines
        ("ofxparse-chase-cc.qfx", "ofx"),
        ("ofxparse-error-message.ofx", "ofx"),
        ("raiffeisen-camt053-001-04.xml", "camt"),
    ],
)
def test_statements_are_told_apart_by_content_not_name(name: str, fmt: str) -> None:
    assert detect_source(SourceFile("export.txt", io.BytesIO(sample("bank", name)))) == fmt


def test_ofx_parser_yields_statements_as_they_close() -> None:
    items = list(ofx.parse_ofx(sample("bank", "spec-v211.ofx"), "spec"))
    kinds = [type(i).__name__ for i in items]
    assert kinds == [
        "Account",
        "Operation",
        "Operation",
        "Operation",
        "Balance",
        "Account",
        "Operation",
        "Balance",
    ]


# --- files exported by real banks (provenance in samples/bank/README.md) ------------------


async def test_a_v1_ofx_with_every_tag_closed_and_empty_leaves(box: Box) -> None:
    report = await ingest(box, "export.ofx", sample("bank", "ofxparse-v102-empty-tags.ofx"))
    assert report["errors"] == 0  # an empty <BALAMT></BALAMT> is no balance, not an error
    (op,) = await documents(box, OPERATIONS)
    assert op["date"] == "2018-05-07T00:00:00Z"
    assert op["amount"] == 12.34
    assert op["label"] == "CBA:Transfer"  # <NAME></NAME> empty: the memo
    assert op["currency"] == "AUD"  # <CURDEF></CURDEF> empty: the operation's <CURRENCY>
    (account,) = await documents(box, ACCOUNTS)
    assert account["number"] == "12345678"
    assert "balance" not in account


async def test_a_credit_card_qfx_in_windows_1252(box: Box) -> None:
    report = await ingest(box, "Chase.QFX", sample("bank", "ofxparse-chase-cc.qfx"))
    assert report["errors"] == 0
    (op,) = await documents(box, OPERATIONS)
    assert op["label"] == "SQ *ECCO UN POCO \u00a6 NATURA"  # 0xA6 in Windows-1252
    assert op["amount"] == -10.0
    assert op["date"] == "2020-01-01T00:00:00Z"  # 20200101120000[0:GMT]
    assert op["vendorId"] == "2020010112341234123412341234123"
    (account,) = await documents(box, ACCOUNTS)
    assert account["type"] == "CreditCard"
    assert account["balance"] == -10.0  # LEDGERBAL, not AVAILBAL


async def test_an_ofx_error_answer_is_reported_and_stores_nothing(box: Box) -> None:
    report = await ingest(box, "svb.ofx", sample("bank", "ofxparse-error-message.ofx"))
    assert [e["message"] for e in report["error_samples"]] == [
        "the bank reported status 2000 in STMTTRNRS: General Server Error"
    ]
    assert await documents(box, OPERATIONS) == []


async def test_a_raiffeisen_camt053_with_dates_carrying_an_offset(box: Box) -> None:
    report = await ingest(box, "camt.xml", sample("bank", "raiffeisen-camt053-001-04.xml"))
    assert report["errors"] == 0
    (account,) = await documents(box, ACCOUNTS)
    assert account["institutionLabel"] == "Raiffeisen"
    assert account["balance"] == 5753.46  # CLBD
    assert account["currency"] == "CHF"  # <Acct> names none: its balances' <Amt Ccy="CHF">
    ops = {op["vendorId"]: op for op in await documents(box, OPERATIONS)}
    assert len(ops) == 4
    assert {op["currency"] for op in ops.values()} == {"CHF"}  # each from its own <Amt Ccy>
    card = ops["210570781020000000024556150000"]
    assert card["date"] == "2017-04-01T00:00:00Z"  # "2017-04-01+02:00"
    assert card["amount"] == -158.5
    # the bank wraps its text over two lines: one line here
    assert (
        card["label"]
        == "Acquisto MIGROS M ARBEDO-CAST 31.03.2017/13:30 / N. carta Maestro xxxxxxxx"
    )
    assert ops["211067161010000000024556150000"]["amount"] == 368.0


# --- CAMT.053 accounts whose <Acct> names no currency ------------------------------------

MULTI = sample("bank", "camt053-multidevises-2024-03.xml")  # balances in EUR and USD


def without_balances(data: bytes, currency: str | None = None) -> bytes:
    """``data`` without its ``<Bal>`` elements (all, or those in ``currency``)."""

    def dropped(bal: re.Match[bytes]) -> bytes:
        return b"" if currency is None or f'Ccy="{currency}"'.encode() in bal[0] else bal[0]

    return re.sub(rb"\s*<Bal>.*?</Bal>", dropped, data, flags=re.S)


async def test_a_camt053_multi_currency_account_is_kept_in_the_currency_most_entries_use(
    box: Box,
) -> None:
    report = await ingest(box, "releve.xml", MULTI)
    assert report["errors"] == 0
    assert report["notes"] == ["1 pending (not booked) entries left out: they come back booked"]
    (account,) = await documents(box, ACCOUNTS)
    # a closing balance per currency: three of the five booked entries are in dollars
    assert account["currency"] == "USD"
    assert account["balance"] == 5401.0  # the dollars' CLBD, not the euros' listed first
    assert account["metadata"]["balanceDate"] == "2024-03-31"
    ops = {op["vendorId"]: op for op in await documents(box, OPERATIONS)}
    # each operation in its own <Amt Ccy>; the exchange's credit in euros, not its InstdAmt
    assert {key: (op["amount"], op["currency"]) for key, op in ops.items()} == {
        "MD24030100071": (4800.0, "USD"),
        "MD24030400112": (-49.0, "USD"),
        "MD24031100045": (-1250.0, "EUR"),
        "MD24031500208": (-1500.0, "USD"),
        "MD24031500209": (1378.05, "EUR"),
    }
    assert {op["account"] for op in ops.values()} == {account["_id"]}


@pytest.mark.parametrize(
    ("data", "currency", "balance"),
    [
        # one balance left, in euros: the account's, though most entries are in dollars
        (without_balances(MULTI, "USD"), "EUR", 3338.45),
        # Raiffeisen's opening balance and entries in francs, its closing one in euros
        (
            sample("bank", "raiffeisen-camt053-001-04.xml").replace(
                b'<Amt Ccy="CHF">5753.46</Amt>', b'<Amt Ccy="EUR">5753.46</Amt>'
            ),
            "EUR",
            5753.46,
        ),
    ],
    ids=["balance-in-one-currency", "closing-balance-in-another"],
)
async def test_a_camt053_account_is_kept_in_its_closing_balances_currency(
    box: Box, data: bytes, currency: str, balance: float
) -> None:
    await ingest(box, "releve.xml", data)
    (account,) = await documents(box, ACCOUNTS)
    assert (account["currency"], account["balance"]) == (currency, balance)  # they go together
    most = Counter(op["currency"] for op in await documents(box, OPERATIONS)).most_common(1)
    assert most[0][0] != currency  # what the entries alone would have said


async def test_a_camt053_without_balances_takes_the_currency_most_entries_use(box: Box) -> None:
    await ingest(box, "releve.xml", without_balances(MULTI))
    (account,) = await documents(box, ACCOUNTS)
    assert account["currency"] == "USD"
    assert "balance" not in account


async def test_a_camt053_cut_while_its_entries_decide_keeps_them(box: Box) -> None:
    cut = MULTI[: MULTI.index(b"<NtryRef>4</NtryRef>")]
    report = await ingest(box, "cut.xml", cut)
    assert counts(report, OPERATIONS) == (3, 0, 0)
    assert any("not valid CAMT XML" in e["message"] for e in report["error_samples"])
    (account,) = await documents(box, ACCOUNTS)
    assert account["currency"] == "USD"  # two of the three entries read
    assert "balance" not in account  # the statement never closed


def test_a_camt053_holds_a_bounded_number_of_entries_for_its_currency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # no balances; booked entries in USD, EUR, EUR, USD, EUR
    data = without_balances(MULTI).replace(b'Ccy="USD">49.00<', b'Ccy="EUR">49.00<')

    def parsed() -> list[object]:
        return list(camt.parse_camt(io.BytesIO(data), "releve.xml"))

    assert accounts_of(parsed()) == ["EUR"]  # all five read: three in euros
    monkeypatch.setattr(camt, "_LOOKAHEAD", 2)
    items = parsed()
    assert accounts_of(items) == ["USD"]  # the first two decide: a tie, the first seen
    assert [type(i).__name__ for i in items] == ["Account"] + ["Operation"] * 5 + ["Note"]
    ops = [i for i in items if isinstance(i, Operation)]
    assert {op.account for op in ops} == {items[0]}
    assert [op.currency for op in ops] == ["USD", "EUR", "EUR", "USD", "EUR"]


def accounts_of(items: list[object]) -> list[str | None]:
    return [i.currency for i in items if isinstance(i, Account)]
