"""selfdata: a personal data box. Encrypted at rest, owned by the person it is about."""

__version__ = "0.1.0"
