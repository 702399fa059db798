"""Verifiable answers instead of data: a third party asks a yes/no question from a
template, the owner sees exactly what would be revealed and approves or refuses, and the
box returns a statement signed with its Ed25519 key. docs/answers.md has the formats.

This package's ``__init__`` imports nothing, so that :mod:`selfdata.answers.verify`
(the standalone verifier a third party runs) loads no store, daemon or web code.
"""
