"""Ledger entries in plain words, for the web UI and ``selfdata audit list``.

A feature that records something may put a ``summary`` in its details: that sentence is
shown as is. Otherwise the kinds below have their own sentence, and any other kind a
generic one built from its short details.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["describe"]

_MAX = 300


def describe(kind: str, details: Mapping[str, Any], *, queued: bool = False) -> str:
    summary = details.get("summary")
    if isinstance(summary, str) and summary.strip():
        text = summary.strip()
    else:
        text = _KINDS.get(kind, _generic)(kind, details)
    if queued:
        text += " (recorded while the box was locked)"
    return _short(text)


def _answer(kind: str, d: Mapping[str, Any]) -> str:
    requester = _s(d.get("requester"), "someone")
    question = _s(d.get("question"), "a question")
    if d.get("decision") == "refused":
        return f"Refused to answer {requester}: “{question}”. Nothing left the box."
    answer = "yes" if d.get("answer") is True else "no" if d.get("answer") is False else "?"
    until = _s(d.get("expires_at"), "")[:10]
    tail = f", valid until {until}" if until else ""
    return f"Answered {requester}: “{question}” — {answer}{tail}. Only this yes/no left the box."


def _contribution(kind: str, d: Mapping[str, Any]) -> str:
    where = _s(d.get("endpoint"), "a collector")
    what = f"{_s(d.get('dataset'), 'aggregates')} for area {_s(d.get('area'), '?')}"
    months = d.get("months")
    count = f"{len(months)} month(s) of " if isinstance(months, list) else ""
    status = d.get("status")
    if status == "consented":
        return f"Agreed to send {count}anonymised {what} to {where} (the payload previewed)."
    if status == "sent":
        return f"Sent {count}anonymised {what} to {where}; the collector accepted it."
    if status == "failed":
        reason = _s(d.get("error"), "no answer")
        return f"Sending {count}anonymised {what} to {where} failed ({reason})."
    return f"Open-data contribution: {what} to {where}."


def _settings(kind: str, d: Mapping[str, Any]) -> str:
    if d.get("enabled"):
        return (
            f"Opted in to open-data contribution: {_s(d.get('dataset'), '?')} for area "
            f"{_s(d.get('area'), '?')} to {_s(d.get('endpoint'), '?')}, ε = {d.get('epsilon')}."
        )
    return "Open-data contribution turned off."


def _ledger(kind: str, d: Mapping[str, Any]) -> str:
    dropped = d.get("dropped")
    return f"{dropped} entry(ies) recorded while the box was locked could not be read and were dropped."


def _generic(kind: str, d: Mapping[str, Any]) -> str:
    label = kind.replace("-", " ").replace("_", " ").replace(".", " ").capitalize()
    parts = [
        f"{k}: {v}"
        for k, v in d.items()
        if isinstance(v, int | float | bool) or (isinstance(v, str) and len(v) <= 80)
    ][:6]
    return f"{label}" + (f" ({', '.join(parts)})" if parts else "")


def _s(value: object, default: str) -> str:
    return value if isinstance(value, str) and value else default


def _short(text: str) -> str:
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"


_KINDS: dict[str, Callable[[str, Mapping[str, Any]], str]] = {
    "answer": _answer,
    "contribution": _contribution,
    "contribution-settings": _settings,
    "ledger": _ledger,
}
