"""Ledger entries in the owner's language.

The API's ``summary`` (``selfdata.ledger.words``) is English, and it is the reference:
English pages show it as is. Other languages get a sentence of their own for the kinds
whose details are known here; any other entry keeps the English summary, marked as
English (``lang="en"``) so a screen reader reads it right.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .i18n import Translator

__all__ = ["entry_words"]

Words = Callable[[Translator, Mapping[str, Any]], str | None]


def entry_words(t: Translator, entry: Mapping[str, Any]) -> tuple[str, str]:
    """The entry as a sentence, and the language it is written in."""
    summary = str(entry.get("summary", ""))
    if t.language == "en":
        return summary, "en"
    words = _WORDS.get(str(entry.get("kind")))
    details = entry.get("details")
    text = words(t, details) if words and isinstance(details, Mapping) else None
    if text is None:
        return summary, "en"
    if entry.get("queued"):
        text = t("{text} (recorded while the box was locked)", text=text)
    return text, t.language


def _s(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _answer(t: Translator, d: Mapping[str, Any]) -> str | None:
    requester, question = _s(d.get("requester")), _s(d.get("question"))
    if requester is None or question is None:
        return None
    if d.get("decision") == "refused":
        return t(
            "Refused to answer {requester}: “{question}”. Nothing left the box.",
            requester=requester,
            question=question,
        )
    if not isinstance(d.get("answer"), bool) or _s(d.get("expires_at")) is None:
        return None
    return t(
        "Answered {requester}: “{question}” — {answer}, valid until {until}. "
        "Only this yes/no left the box.",
        requester=requester,
        question=question,
        answer=t("yes") if d["answer"] else t("no"),
        until=t.date(str(d["expires_at"])[:10]),
    )


def _contribution(t: Translator, d: Mapping[str, Any]) -> str | None:
    months, status = d.get("months"), d.get("status")
    values = {
        "months": len(months) if isinstance(months, list) else 0,
        "dataset": _s(d.get("dataset")),
        "area": _s(d.get("area")),
        "endpoint": _s(d.get("endpoint")),
    }
    if None in values.values() or not isinstance(months, list):
        return None
    if status == "consented":
        return t(
            "Agreed to send {months} month(s) of anonymised {dataset} for area {area} "
            "to {endpoint} (the payload previewed).",
            **values,
        )
    if status == "sent":
        return t(
            "Sent {months} month(s) of anonymised {dataset} for area {area} to {endpoint}; "
            "the collector accepted it.",
            **values,
        )
    if status == "failed":
        return t(
            "Sending {months} month(s) of anonymised {dataset} for area {area} to {endpoint} "
            "failed ({reason}).",
            reason=_s(d.get("error")) or "?",
            **values,
        )
    return None


def _settings(t: Translator, d: Mapping[str, Any]) -> str | None:
    if not d.get("enabled"):
        return t("Open-data contribution turned off.")
    return t(
        "Opted in to open-data contribution: {dataset} for area {area} to {endpoint}, "
        "ε = {epsilon}.",
        dataset=_s(d.get("dataset")) or "?",
        area=_s(d.get("area")) or "?",
        endpoint=_s(d.get("endpoint")) or "?",
        epsilon=t.number(float(d.get("epsilon") or 0), 2),
    )


def _export(t: Translator, d: Mapping[str, Any]) -> str | None:
    layout = {"cozy": t("in Cozy's layout"), "selfdata": t("as a selfdata archive")}.get(
        str(d.get("format"))
    )
    if layout is None:
        return None
    if d.get("encrypted"):
        return t("Everything exported {layout}, sealed with a passphrase.", layout=layout)
    return t("Everything exported {layout}.", layout=layout)


def _backup(t: Translator, d: Mapping[str, Any]) -> str | None:
    to, url, snapshot = _s(d.get("to")), _s(d.get("url")), _s(d.get("snapshot"))
    if to is None or url is None or snapshot is None:
        return None
    return t("Encrypted backup {snapshot} sent to {to} ({url}).", snapshot=snapshot, to=to, url=url)


_WORDS: dict[str, Words] = {
    "answer": _answer,
    "contribution": _contribution,
    "contribution-settings": _settings,
    "export": _export,
    "backup": _backup,
}
