"""A woob module written for selfdata's tests: a bank that also sends bills.

It is a real woob module (a ``Module`` subclass with ``CapBank`` and ``CapDocument``, a
``LoginBrowser``), loaded by woob's own loader from this directory, talking over HTTP to
the fake bank of tests/connectors/fakes/woob_bank.py.
"""

from .module import FakeBankModule

__all__ = ["FakeBankModule"]
