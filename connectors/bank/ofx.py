"""OFX bank and credit-card statements, v1 (SGML) and v2 (XML), with one parser.

Why not ``ofxparse`` (Debian's 0.21): it decodes a v2 file without an ``ENCODING``
header as ASCII, so any UTF-8 "é" in a French bank's v2 file makes it fail; it shifts
dates by their time zone (``20240102[+1:CET]`` becomes the 1st of January); it decides
whether a tag is closed from whether that tag is closed *anywhere* in the file (mixed
files, common in France, lose fields); and it builds a whole BeautifulSoup tree. The
grammar it needs is small, so it is done here, carefully:

* v1 is SGML where leaf elements (``<TRNAMT>-12,50``) have no end tag, aggregates do;
  v2 is XML where every element is closed. One tolerant tokenizer reads both: an
  element holding text is a leaf and ends at the next tag; a known leaf left empty
  (``<MEMO>``) ends too; ``</X>`` closes everything opened since ``<X>``; a stray end
  tag is ignored.
* Nothing is ever expanded but the character references HTML knows (``&amp;``,
  ``&#233;``): ``<!DOCTYPE>``/``<!ENTITY>`` declarations are skipped unread, so there
  are no entity bombs and no external entities to fetch.
* Dates are the bank's calendar date (the first 8 digits); the time zone of a booking
  date is noise. Amounts take ``.`` or ``,`` as the decimal mark.
* Text is UTF-8 when it decodes as UTF-8 (banks that say ``CHARSET:1252`` and send
  UTF-8 exist), else the declared single-byte charset, Windows-1252 by default.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..sinks import Problem
from .model import Account, Balance, Operation, parse_amount

__all__ = ["MAX_OFX", "detect", "parse_ofx"]

MAX_OFX = 32 * 1024 * 1024
Item = Account | Operation | Balance | Problem

_TOKEN = re.compile(
    r"<!--.*?-->"  # comment
    r"|<!\[CDATA\[(?P<cdata>.*?)\]\]>"
    r"|<!DOCTYPE(?:[^>\[]|\[[^\]]*\])*>"  # with an internal subset: skipped, never expanded
    r"|<[!?][^>]*>"  # <?xml ...?>, <?OFX ...?>, other declarations
    r"|<(?P<close>/?)(?P<name>[A-Za-z][A-Za-z0-9_.]*)\s*/?>",
    re.DOTALL | re.IGNORECASE,
)
#: Leaves the spec allows to be empty; without this, ``<MEMO><NAME>x`` nests NAME in MEMO.
_LEAVES = frozenset(
    [
        "TRNTYPE",
        "DTPOSTED",
        "DTUSER",
        "DTAVAIL",
        "TRNAMT",
        "FITID",
        "CORRECTFITID",
        "CORRECTACTION",
        "SRVRTID",
        "CHECKNUM",
        "REFNUM",
        "SIC",
        "PAYEEID",
        "NAME",
        "EXTDNAME",
        "MEMO",
        "INV401KSOURCE",
        "CURDEF",
        "BANKID",
        "BRANCHID",
        "ACCTID",
        "ACCTTYPE",
        "ACCTKEY",
        "BALAMT",
        "DTASOF",
        "DTSTART",
        "DTEND",
        "CODE",
        "SEVERITY",
        "MESSAGE",
        "DTSERVER",
        "LANGUAGE",
        "ORG",
        "FID",
        "TRNUID",
        "CURSYM",
        "CURRATE",
        "INTU.BID",
        "INTU.USERID",
    ]
)
_STATEMENTS = frozenset({"STMTRS", "CCSTMTRS"})
_YIELDED = _STATEMENTS | {"SONRS", "OFX", "STMTTRNRS", "CCSTMTTRNRS"}
_ACCOUNT_TYPES = {
    "CHECKING": "Checkings",
    "SAVINGS": "Savings",
    "MONEYMRKT": "Savings",
    "CD": "Savings",
    "CREDITLINE": "Loan",
}


def detect(head: bytes) -> bool:
    text = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    return text.startswith((b"OFXHEADER:", b"<OFX>")) or (
        text.startswith(b"<?XML") and b"<?OFX" in text
    )


@dataclass
class _Node:
    name: str
    text: str = ""
    children: list[_Node] = field(default_factory=list)
    #: False for an aggregate still open when the file ended: its content may be cut.
    closed: bool = True

    def find(self, *path: str) -> _Node | None:
        """The first descendant at ``path`` (each step searched depth-first)."""
        node: _Node | None = self
        for name in path:
            node = node._search(name) if node is not None else None
        return node

    def value(self, *path: str) -> str | None:
        node = self.find(*path)
        if node is None:
            return None
        text = html.unescape(node.text).strip()
        return text or None

    def _search(self, name: str) -> _Node | None:
        for child in self.children:
            if child.name == name:
                return child
        for child in self.children:
            if (found := child._search(name)) is not None:
                return found
        return None


def parse_ofx(data: bytes, where: str) -> Iterator[Item]:
    """Accounts, operations and closing balances of every statement in an OFX file."""
    if len(data) > MAX_OFX:
        yield Problem(where, f"larger than {MAX_OFX:,} bytes: not a bank statement")
        return
    text = _decode(data)
    start = text.upper().find("<OFX>")
    if start < 0:
        yield Problem(where, "no <OFX> element: not an OFX file, or cut before its body")
        return
    institution: str | None = None
    closed_root = False
    for node in _elements(text[start:]):
        if node.name == "SONRS":
            institution = node.value("FI", "ORG")
            problem = _status_problem(node, where)
            if problem:
                yield problem
        elif node.name in _STATEMENTS:
            yield from _statement(node, institution, where)
        elif node.name in ("STMTTRNRS", "CCSTMTTRNRS"):
            problem = _status_problem(node, where)
            if problem:
                yield problem
        elif node.name == "OFX":
            closed_root = True
    if not closed_root:
        yield Problem(where, "the file ends before </OFX>: it may be truncated")


def _decode(data: bytes) -> str:
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    head = data[:1024].upper()
    charset = "cp1252"
    if b"8859-15" in head:
        charset = "iso8859-15"
    elif b"8859-1" in head or b"LATIN" in head:
        charset = "latin-1"
    return data.decode(charset, errors="replace")


def _elements(text: str) -> Iterator[_Node]:
    """Tokenize and build the tree; yield each element of interest as it closes.

    Statements, sign-on and transaction wrappers are yielded *and detached*, so the
    tree in memory is at most one statement.
    """
    root = _Node("#root")
    stack: list[_Node] = [root]
    position = 0

    def close_top(complete: bool = True) -> _Node:
        node = stack.pop()
        node.closed = complete
        stack[-1].children.append(node)
        return node

    for match in _TOKEN.finditer(text):
        if len(stack) > 1 and not stack[-1].children:
            stack[-1].text += text[position : match.start()]
        position = match.end()
        if match.group("cdata") is not None:
            if len(stack) > 1:
                stack[-1].text += html.escape(match.group("cdata"))  # unescaped once on read
            continue
        name = match.group("name")
        if name is None:
            continue  # comment, declaration, DOCTYPE: skipped, never expanded
        name = name.upper()
        if match.group("close"):
            if not any(n.name == name for n in stack[1:]):
                continue  # a stray end tag
            while True:
                node = close_top()
                if node.name == name:
                    break
            if name in _YIELDED:
                stack[-1].children.pop()  # detached: memory holds one statement at most
                yield node
            continue
        top = stack[-1]
        if len(stack) > 1 and not top.children and (top.text.strip() or top.name in _LEAVES):
            close_top()  # an SGML leaf ends at the next tag
        stack.append(_Node(name))
    # The file ended early: what was closed is good; what was still open may be cut
    if len(stack) > 1 and not stack[-1].children:
        stack[-1].text += text[position:]
    while len(stack) > 1:
        leaf = not stack[-1].children and stack[-1].name in _LEAVES
        node = close_top(complete=leaf)
        if node.name in _STATEMENTS:
            stack[-1].children.pop()
            yield node


def _status_problem(node: _Node, where: str) -> Problem | None:
    code = node.value("STATUS", "CODE")
    if code is None or code.strip() == "0":
        return None
    message = node.value("STATUS", "MESSAGE") or node.value("STATUS", "SEVERITY") or ""
    return Problem(where, f"the bank reported status {code} in {node.name}: {message}".strip())


def _statement(stmt: _Node, institution: str | None, where: str) -> Iterator[Item]:
    credit_card = stmt.name == "CCSTMTRS"
    acct = stmt.find("CCACCTFROM" if credit_card else "BANKACCTFROM")
    acctid = acct.value("ACCTID") if acct is not None else None
    if acct is None or acctid is None or not acct.closed:
        yield Problem(where, f"a {stmt.name} statement without an account id: skipped")
        return
    bank_id = acct.value("BANKID") or ""
    branch = acct.value("BRANCHID") or ""
    currency = stmt.value("CURDEF")
    account = Account(
        key=f"ofx:{bank_id}:{branch}:{acctid}",
        label=acctid,
        number=acctid,
        type="CreditCard"
        if credit_card
        else _ACCOUNT_TYPES.get(acct.value("ACCTTYPE") or "", "Other"),
        currency=currency.upper() if currency else None,
        institution=institution,
    )
    yield account
    tranlist = stmt.find("BANKTRANLIST")
    for n, txn in enumerate(
        c for c in (tranlist.children if tranlist else []) if c.name == "STMTTRN"
    ):
        if txn.closed:
            yield _operation(txn, account, f"{where} {acctid} transaction {n}")
        else:
            yield Problem(
                f"{where} {acctid} transaction {n}", "cut by the end of the file: skipped"
            )
    ledger = stmt.find("LEDGERBAL")
    # <BALAMT></BALAMT> left empty (some banks' exports): no balance given, not an error
    raw_balance = ledger.value("BALAMT") if ledger is not None and ledger.closed else None
    if ledger is not None and raw_balance is not None:
        amount = parse_amount(raw_balance)
        if amount is None:
            yield Problem(
                f"{where} {acctid}", f"LEDGERBAL's BALAMT {raw_balance!r} is not an amount"
            )
        else:
            yield Balance(account, amount, _date(ledger.value("DTASOF")))


def _operation(txn: _Node, account: Account, where: str) -> Operation | Problem:
    raw_amount = txn.value("TRNAMT")
    amount = parse_amount(raw_amount or "")
    date = _date(txn.value("DTPOSTED"))
    if amount is None:
        return Problem(where, f"TRNAMT {raw_amount!r} is not an amount")
    if date is None:
        return Problem(where, f"DTPOSTED {txn.value('DTPOSTED')!r} is not a date")
    name = txn.value("NAME") or txn.value("PAYEE", "NAME") or txn.value("EXTDNAME")
    memo = txn.value("MEMO")
    checknum = txn.value("CHECKNUM")
    label = name or memo or (f"CHECK {checknum}" if checknum else None)
    label = label or (txn.value("TRNTYPE") or "operation").lower()
    original = " ".join(p for p in (name, memo) if p)
    kind = txn.value("TRNTYPE")
    currency = txn.value("CURRENCY", "CURSYM") or txn.value("ORIGCURRENCY", "CURSYM")
    return Operation(
        account=account,
        date=date,
        amount=amount,
        label=label,
        original_label=original or None,
        bank_id=txn.value("FITID"),
        currency=(currency or account.currency or "").upper() or None,
        value_date=_date(txn.value("DTAVAIL")) or _date(txn.value("DTUSER")),
        type=kind.lower() if kind else None,
    )


_DATE = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})")


def _date(text: str | None) -> dt.date | None:
    if not text or not (m := _DATE.match(text)):
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None
