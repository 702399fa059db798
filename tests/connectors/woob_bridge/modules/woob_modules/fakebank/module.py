"""The module: its configuration and the two capabilities."""

from __future__ import annotations

from woob.capabilities.bank import CapBank
from woob.capabilities.bill import CapDocument
from woob.tools.backend import BackendConfig, Module
from woob.tools.value import Value, ValueBackendPassword, ValueBool, ValueTransient

from .browser import FakeBankBrowser

__all__ = ["FakeBankModule"]


class FakeBankModule(Module, CapBank, CapDocument):
    NAME = "fakebank"
    DESCRIPTION = "Banque Factice"
    MAINTAINER = "selfdata tests"
    EMAIL = "tests@example.invalid"
    LICENSE = "LGPLv3+"
    CONFIG = BackendConfig(
        Value("login", label="Customer number", regexp=r"\d{6,10}"),
        ValueBackendPassword("password", label="Password"),
        Value("website", label="Region", choices={"lyo": "Lyon", "par": "Paris"}, default="lyo"),
        ValueBool("with_savings", label="Include savings accounts", default=True),
        ValueTransient("otp", regexp=r"\d{6}"),
    )
    BROWSER = FakeBankBrowser

    def create_default_browser(self):
        return self.create_browser(
            self.config["login"].get(),
            self.config["password"].get(),
            savings=self.config["with_savings"].get(),
        )

    def iter_accounts(self):
        return self.browser.iter_accounts()

    def iter_history(self, account):
        return self.browser.iter_history(account)

    def iter_coming(self, account):
        return self.browser.iter_coming(account)

    def iter_subscription(self):
        return self.browser.iter_subscriptions()

    def iter_documents(self, subscription):
        return self.browser.iter_documents(subscription)

    def download_document(self, document):
        return self.browser.download(document)
