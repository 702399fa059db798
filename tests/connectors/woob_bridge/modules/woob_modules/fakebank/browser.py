"""The browser: a JSON API behind a login, as many banks' apps have."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from woob.browser.browsers import LoginBrowser, need_login
from woob.browser.exceptions import BrowserTooManyRequests, ClientError
from woob.capabilities.bank import Account, Transaction
from woob.capabilities.bill import Bill, Document, Subscription
from woob.exceptions import (
    ActionNeeded,
    BrowserIncorrectPassword,
    BrowserQuestion,
    CaptchaQuestion,
)
from woob.tools.value import Value

__all__ = ["FakeBankBrowser"]

_TYPES = {
    "checking": Account.TYPE_CHECKING,
    "livret_a": Account.TYPE_LIVRET_A,
    "card": Account.TYPE_CARD,
}
_OPS = {"card": Transaction.TYPE_CARD, "transfer": Transaction.TYPE_TRANSFER}


class FakeBankBrowser(LoginBrowser):
    BASEURL = "https://banque-factice.example/"

    def __init__(self, username, password, *args, savings=True, **kwargs):
        super().__init__(username, password, *args, **kwargs)
        self.savings = savings
        self.token = None
        self.logged = False  # no pages here: need_login asks this

    def do_login(self):
        try:
            answer = self.open(
                "api/login", json={"login": self.username, "password": self.password}
            ).json()
        except ClientError as err:
            status = err.response.status_code
            if status == 401:
                raise BrowserIncorrectPassword("wrong customer number or password") from err
            if status == 403:
                body = err.response.json()
                raise ActionNeeded(body.get("message"), url=body.get("url")) from err
            if status == 429:
                wait = int(err.response.headers.get("Retry-After", "60"))
                raise BrowserTooManyRequests(
                    "quota", next_try=dt.datetime.now() + dt.timedelta(seconds=wait)
                ) from err
            raise
        if answer.get("captcha"):
            raise CaptchaQuestion("image_captcha", image_data="...")
        if answer.get("otp"):
            raise BrowserQuestion(Value("otp", label="Code received by SMS"))
        self.token = answer["token"]
        self.logged = True

    def _get(self, path):
        return self.open(path, headers={"Authorization": f"Bearer {self.token}"}).json()

    @need_login
    def iter_accounts(self):
        for item in self._get("api/accounts"):
            if item["type"] == "livret_a" and not self.savings:
                continue
            account = Account(id=item["id"])
            account.label = item["label"]
            account.balance = Decimal(item["balance"])
            account.currency = item.get("currency", "EUR")
            account.type = _TYPES[item["type"]]
            if item.get("iban"):
                account.iban = item["iban"]
            account.number = item.get("number")
            yield account

    @need_login
    def iter_history(self, account):
        for item in self._get(f"api/accounts/{account.id}/history"):
            yield self._transaction(item)

    @need_login
    def iter_coming(self, account):
        for item in self._get(f"api/accounts/{account.id}/coming"):
            yield self._transaction(item)

    def _transaction(self, item):
        tr = Transaction(id=item.get("id", ""))
        tr.date = dt.date.fromisoformat(item["date"])
        if item.get("value_date"):
            tr.vdate = dt.date.fromisoformat(item["value_date"])
        tr.amount = Decimal(item["amount"])
        tr.label = item["label"]
        tr.raw = item.get("raw", item["label"])
        tr.type = _OPS.get(item.get("type", ""), Transaction.TYPE_UNKNOWN)
        return tr

    @need_login
    def iter_subscriptions(self):
        for item in self._get("api/subscriptions"):
            sub = Subscription(id=item["id"])
            sub.label = item["label"]
            sub.subscriber = item["subscriber"]
            yield sub

    @need_login
    def iter_documents(self, subscription):
        for item in self._get(f"api/subscriptions/{subscription.id}/documents"):
            doc = Bill(id=item["id"]) if "price" in item else Document(id=item["id"])
            doc.date = dt.date.fromisoformat(item["date"])
            doc.label = item["label"]
            doc.format = item.get("format", "pdf")
            if "price" in item:
                doc.total_price = Decimal(item["price"])
                doc.currency = item.get("currency", "EUR")
            yield doc

    @need_login
    def download(self, document):
        return self.open(
            f"api/documents/{document.id}.pdf",
            headers={"Authorization": f"Bearer {self.token}"},
        ).content
