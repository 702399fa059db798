"""The owner's control in a real browser: import any file, export everything and see it in
the journal, approve a third party's question and check the signed answer, contribute to
open data, back up to a folder and restore a fresh box from it with the recovery key.

Against a real ``selfdata serve`` over HTTPS, Debian's chromium driven by Playwright;
each page checked by axe-core, in English and French, on a phone and a desktop. Hostile
input — a file that is nothing the box reads, a wrong recovery key — says so clearly and
changes nothing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import getpass
import json
import secrets
import sqlite3
import tarfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from selfdata.answers import verify
from selfdata.answers.templates import TEMPLATES
from selfdata.box import Box
from selfdata.contribution.settings import Settings
from selfdata.ledger import Ledger
from selfdata.paths import DataDir
from selfdata.vault import format_recovery_key

from ..daemon.answers import household as answers
from ..daemon.backup.conftest import S3Server, SftpServer
from ..daemon.contribution.test_contribution_cli import Recorder  # the loopback collector
from .browser import DESKTOP, PHONE, Server, Tab, check_axe, check_width, running_server, shot

PASSPHRASE = "heron candle basalt meadow"
OFX = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX>
<BANKMSGSRSV1>
<STMTTRNRS>
<TRNUID>1
<STATUS>
<CODE>0
<SEVERITY>INFO
</STATUS>
<STMTRS>
<CURDEF>EUR
<BANKACCTFROM>
<BANKID>30004
<BRANCHID>00123
<ACCTID>00098765432
<ACCTTYPE>CHECKING
</BANKACCTFROM>
<BANKTRANLIST>
<DTSTART>20250101
<DTEND>20250131
<STMTTRN>
<TRNTYPE>DEBIT
<DTPOSTED>20250105
<TRNAMT>-42.10
<FITID>T20250105A
<NAME>CB MARCHE BIO
</STMTTRN>
<STMTTRN>
<TRNTYPE>CREDIT
<DTPOSTED>20250110
<TRNAMT>1800.00
<FITID>T20250110B
<NAME>VIR SALAIRE
</STMTTRN>
</BANKTRANLIST>
<LEDGERBAL>
<BALAMT>1234.56
<DTASOF>20250131
</LEDGERBAL>
</STMTRS>
</STMTTRNRS>
</BANKMSGSRSV1>
</OFX>
"""


@dataclass
class Owner:
    server: Server
    recovery_key: str
    backup_dir: Path
    requests: dict[str, str] = field(default_factory=dict)  # "approved"/"pending" → id


@pytest.fixture(scope="module")
def owner(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Owner]:
    """A box set up through the API, with a bank account and a meter to answer from."""
    root = tmp_path_factory.mktemp("control")
    with running_server(root, SELFDATA_TRUST_CLOCK="1") as server:
        tab = Tab(browser, server)
        code = server.cli.ok("setup-code").out.strip()
        answer = tab.post("/api/v1/setup", {"setup_code": code, "passphrase": PASSPHRASE})
        tab.post("/api/v1/doctypes/io.cozy.bank.accounts/documents", answers.account())
        lines = "\n".join(json.dumps(op) for op in answers.operations())
        resp = tab.page.request.post(
            server.url + "/api/v1/doctypes/io.cozy.bank.operations/import",
            data=lines,
            headers={"Origin": server.url},
        )
        assert resp.ok, resp.text()
        points = answers.electricity()
        tab.post(
            f"/api/v1/series/enedis/daily_consumption/{answers.PRM}",
            {"unit": "Wh", "points": points},
        )
        tab.close()
        (root / "usb").mkdir()
        yield Owner(server, answer["recovery_key"], root / "usb" / "selfdata")


@pytest.fixture
def tab(browser: Any, owner: Owner) -> Iterator[Tab]:
    opened = Tab(browser, owner.server)
    opened.sign_in(PASSPHRASE)
    yield opened
    opened.check_clean()
    opened.close()


def counts(tab: Tab) -> dict[str, int]:
    resp = tab.page.request.get(tab.server.url + "/api/v1/doctypes")
    return {d["name"]: d["count"] for d in resp.json()["doctypes"] if d.get("count")}


def test_import_any_file_then_a_bad_one_changes_nothing(tab: Tab, axe: str, tmp_path: Path) -> None:
    page = tab.go("/connectors", "#import-any-form")
    statement = tmp_path / "releve-janvier.ofx"
    statement.write_text(OFX)
    page.set_input_files("#import-any-file", str(statement))
    page.click("#import-any-form button[type=submit]")
    page.wait_for_selector("#import-any-result[data-done]")
    result = page.text_content("#import-any-result") or ""
    assert "releve-janvier.ofx (ofx): 3 records stored, 0 left out" in result, result
    rows = page.locator("#import-any-report tbody tr").all_text_contents()
    assert "io.cozy.bank.accounts100" in rows
    assert "io.cozy.bank.operations200" in rows
    check_axe(page, axe, "sources: an import's report")
    shot(page, "control-import-report")
    before = counts(tab)
    bad = tmp_path / "photo.ofx"  # its name says OFX; its bytes say otherwise
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(2000))
    page.set_input_files("#import-any-file", str(bad))
    page.click("#import-any-form button[type=submit]")
    page.wait_for_selector("#import-any-result.error")
    text = page.text_content("#import-any-result") or ""
    assert text.startswith("Nothing was imported. The reason: cannot tell what photo.ofx is"), text
    assert page.is_hidden("#import-any-report")
    assert counts(tab) == before
    tab.problems.clear()  # the refused upload's 400 is expected


def test_an_export_is_downloaded_and_appears_in_the_journal(
    tab: Tab, axe: str, tmp_path: Path
) -> None:
    page = tab.go("/settings/export", "#export-form")
    check_axe(page, axe, "export")
    with page.expect_download() as info:
        page.click("#export-form button[type=submit]")
    archive = tmp_path / info.value.suggested_filename
    info.value.save_as(archive)
    page.wait_for_selector("#export-result[data-done]")
    assert archive.name.startswith("selfdata-export-")
    assert archive.name.endswith(".tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names[0] == "export.json"
    assert "documents/io.cozy.bank.operations.jsonl" in names
    # sealed: the two passphrases must agree first
    page.fill("#e-passphrase", "a long export passphrase")
    page.fill("#e-passphrase2", "a long export passphrase!")
    page.click("#export-form button[type=submit]")
    page.wait_for_selector("#export-result.error:has-text('differ')")
    page.fill("#e-passphrase2", "a long export passphrase")
    with page.expect_download() as info:
        page.click("#export-form button[type=submit]")
    assert info.value.suggested_filename.endswith(".tar.gz.sealed")
    page.wait_for_selector("#export-result[data-done]")
    sealed = Path(info.value.path())  # the browser's own download, saved as it streamed
    assert sealed.read_bytes().startswith(b"selfdata/export-encrypted/v1\n")

    # the box records an export once it has sent the last byte: look until it is there
    for _ in range(20):
        page = tab.go("/privacy", "#verify-ledger")
        first = page.text_content("#ledger-entries li:first-child .entry-words") or ""
        if "sealed" in first:
            break
        page.wait_for_timeout(250)
    assert "sealed with a passphrase" in first, first
    second = page.text_content("#ledger-entries li:nth-child(2) .entry-words") or ""
    assert second.startswith("Everything exported (selfdata archive)"), second
    page.focus("#verify-ledger")  # with the keyboard alone
    page.keyboard.press("Enter")
    page.wait_for_selector("#verify-result[data-ok]")
    assert page.get_attribute("#verify-result", "data-ok") == "true"
    assert "The journal is intact: 2 entries" in (page.text_content("#verify-result") or "")
    check_axe(page, axe, "journal, checked")
    shot(page, "control-journal")

    # someone edits the file behind the box's back: the check names the entry that breaks
    with tampered_hash(tab.server, seq=2):
        page.reload()
        page.click("#verify-ledger")
        page.wait_for_selector("#verify-result[data-ok=false]")
        text = page.text_content("#verify-result") or ""
        assert text.startswith("The journal is NOT intact: entry #2 breaks the chain ("), text
        assert "broken" in (page.get_attribute("#entry-2", "class") or "")
        check_axe(page, axe, "journal, broken")
        shot(page, "control-journal-broken")
    page.click("#verify-ledger")
    page.wait_for_selector("#verify-result[data-ok=true]")


@contextlib.contextmanager
def tampered_hash(server: Server, seq: int) -> Iterator[None]:
    """Entry ``seq``'s chain hash zeroed in the SQLite file, then put back."""
    db = sqlite3.connect(server.cli.data_dir.database)
    try:
        (original,) = db.execute("SELECT hash FROM ledger WHERE seq = ?", (seq,)).fetchone()
        with db:
            db.execute("UPDATE ledger SET hash = ? WHERE seq = ?", (bytes(32), seq))
        yield
    finally:
        with db:
            db.execute("UPDATE ledger SET hash = ? WHERE seq = ?", (original, seq))
        db.close()


def test_approve_a_request_and_check_the_signed_answer(
    tab: Tab, owner: Owner, axe: str, tmp_path: Path
) -> None:
    threshold = round(answers.lowest_balance(3) - 0.01, 2)
    request = answers.request(
        params={"account": answers.IBAN, "threshold": threshold, "months": 3, "currency": "EUR"}
    )
    page = tab.go("/privacy/answers", "#request-form")
    page.fill("#request-text", "{not json")
    page.click("#request-form button[type=submit]")
    page.wait_for_selector("#request-error:has-text('not valid JSON')")
    page.fill("#request-text", json.dumps(request, ensure_ascii=False, indent=1))
    page.click("#request-form button[type=submit]")
    page.wait_for_url("**/privacy/answer?request=**")
    request_id = page.url.rsplit("=", 1)[1]
    assert page.text_content("#preview-answer") == "Yes"
    assert f"{answers.lowest_balance(3):,.2f}" in (page.text_content(".private") or "")
    check_axe(page, axe, "answer request")
    shot(page, "control-answer-request")
    page = tab.go("/", "#requests-title")  # the home page says a question waits
    page.click(f"a[href='/privacy/answer?request={request_id}']")
    page.wait_for_selector("#approve-request")
    page.focus("#approve-request")
    page.keyboard.press("Enter")
    page.wait_for_selector("#statement-download")
    with page.expect_download() as info:
        page.click("#statement-download")
    statement = tmp_path / "answer.json"
    info.value.save_as(statement)
    key = base64.b64decode(
        page.request.get(tab.server.url + "/api/v1/ledger/key").json()["public_key"]
    )
    outcome = verify.verify_statement(statement.read_text(), key)
    assert outcome.valid, outcome.message
    signed = json.loads(json.loads(statement.read_text())["statement"])
    assert signed["answer"] is True
    assert signed["nonce"] == request["nonce"]
    assert str(threshold) not in json.dumps({k: v for k, v in signed.items() if k != "params"})
    check_axe(page, axe, "answer, approved")
    owner.requests["approved"] = request_id

    # a second one, refused: nothing leaves, and the journal says so
    page = tab.go("/privacy/answers", "#request-form")
    page.fill("#request-text", json.dumps(answers.request("electricity-use-below")))
    page.click("#request-form button[type=submit]")
    page.wait_for_selector("#refuse-request")
    owner.requests["pending"] = page.url.rsplit("=", 1)[1]
    page = tab.go("/privacy/answers", "#request-form")
    page.fill("#request-text", json.dumps(answers.request("electricity-use-below")))
    page.click("#request-form button[type=submit]")
    page.wait_for_selector("#refuse-request")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#refuse-request")
    page.wait_for_selector("text=You refused this request: nothing left the box.")
    page = tab.go("/privacy", "#ledger-entries")
    words = page.locator("#ledger-entries .entry-words").all_text_contents()
    assert words[0].startswith("Refused to answer Banque Exemple"), words
    assert words[1].startswith("Answered Banque Exemple — crédit"), words
    assert "— yes, valid until" in words[1]


def test_contribute_exactly_the_previewed_payload(tab: Tab, collector_url: str, axe: str) -> None:
    page = tab.go("/privacy/contribution", "#contribution-form")
    assert not page.locator("#preview-contribution").count()  # not opted in yet
    page.check("#c-enabled")
    page.fill("#c-endpoint", collector_url)
    page.fill("#c-area", "693830101")
    page.fill("#c-epsilon", "0.5")
    page.click("#contribution-form button[type=submit]")
    page.wait_for_selector("#preview-contribution")
    assert "about 2,828 kWh" in (page.text_content("main") or "")  # √2 · 1000 / 0.5
    page.click("#preview-contribution")
    page.wait_for_selector("#payload")
    shown = page.text_content("#payload") or ""
    check_axe(page, axe, "contribution preview")
    shot(page, "control-contribution-preview")
    assert Recorder.received == []  # a preview sends nothing
    page.click("#send-contribution")
    page.wait_for_selector("#send-result[data-sent]")
    assert Recorder.received == [shown.encode()]  # byte for byte what the page showed
    payload = json.loads(shown)
    assert payload["area"] == "693830101"
    assert answers.PRM not in shown
    page = tab.go("/privacy", "#ledger-entries")
    first = page.text_content("#ledger-entries li:first-child .entry-words") or ""
    assert first.startswith("Sent "), first
    assert "the collector accepted it" in first


def test_back_up_then_restore_a_fresh_box_with_the_recovery_key(
    tab: Tab, owner: Owner, browser: Any, axe: str, tmp_path: Path
) -> None:
    owner.backup_dir.mkdir()
    page = tab.go("/settings/backups", "#target-form")
    page.fill("#t-name", "usb")
    page.fill("#t-path", str(owner.backup_dir))
    page.click("#target-form button[type=submit]")
    page.wait_for_selector("#target-usb")
    page.click("[data-run=usb]")
    page.wait_for_selector("#target-usb .last-result[data-ok=true]", timeout=60_000)
    page.click("[data-snapshots=usb]")
    page.wait_for_selector("[data-snapshot-list=usb] tbody tr")
    assert page.locator("[data-snapshot-list=usb] tbody tr").count() == 1
    check_axe(page, axe, "backups")
    shot(page, "control-backups")
    operations = counts(tab)["io.cozy.bank.operations"]

    with running_server(tmp_path / "new-box") as fresh:
        other = Tab(browser, fresh)
        page = other.page
        page.goto(fresh.url + "/")
        page.wait_for_url("**/setup")
        page.focus("input[name=start][value=new]")  # the keyboard moves between the two ways
        page.keyboard.press("ArrowDown")
        page.wait_for_selector("#restore-form", state="visible")
        page.fill("#restore-setup-code", fresh.cli.ok("setup-code").out.strip())
        page.fill("#r-path", str(owner.backup_dir))
        page.fill("#restore-key", format_recovery_key(secrets.token_bytes(32)))  # another key
        page.click("#restore-form button[type=submit]")
        page.wait_for_selector("#restore-error:visible")
        error = page.text_content("#restore-error") or ""
        assert error.startswith("Nothing was restored and nothing on this box changed."), error
        assert "wrong recovery key" in error
        status = page.request.get(fresh.url + "/api/v1/status").json()
        assert status["initialized"] is False
        check_axe(page, axe, "restore: a wrong key")
        shot(page, "control-restore-wrong-key")

        page.fill("#restore-key", owner.recovery_key)
        retry_after_backoff(
            page, "#restore-list", "document.getElementById('restore-snapshot').length > 1"
        )
        assert page.locator("#restore-snapshot option").count() == 2  # the newest, and the one
        retry_after_backoff(
            page,
            "#restore-form button[type=submit]",
            "!document.getElementById('restore-done').hidden",
        )
        assert "Unlock the box to use it" in (page.text_content("#restore-done") or "")
        page.click("#restore-done a")
        page.wait_for_url("**/unlock")
        page.fill("#passphrase", PASSPHRASE)  # the old box's passphrase
        page.press("#passphrase", "Enter")
        page.wait_for_url(fresh.url + "/")
        assert counts(other)["io.cozy.bank.operations"] == operations
        other.go("/privacy", "#verify-ledger")
        page.click("#verify-ledger")
        page.wait_for_selector("#verify-result[data-ok=true]")
        other.problems.clear()  # the refused key's 403 (and any 429) are expected
        other.close()


def test_sftp_and_s3_targets_from_their_forms(
    tab: Tab, sftp_server: SftpServer, s3_server: S3Server, axe: str
) -> None:
    page = tab.go("/settings/backups", "#target-form")
    page.check("#target-form input[name=kind][value=sftp]")
    page.fill("#t-name", "nas")
    page.fill("#t-host", "127.0.0.1")
    page.fill("#t-port", str(sftp_server.port))
    page.fill("#t-user", getpass.getuser())
    page.fill("#t-sftp-path", str(sftp_server.root))
    page.fill(
        "#t-host-key",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
    )
    page.fill("#t-ssh-key", sftp_server.client_key)
    check_axe(page, axe, "backups: an SFTP target's form")
    page.click("#target-form button[type=submit]")  # someone else's host key: refused
    page.wait_for_selector("#target-error:visible")
    assert "host key is not the one given" in (page.text_content("#target-error") or "")
    assert not page.locator("#target-nas").count()
    page.fill("#t-host-key", sftp_server.host_key)
    page.click("#target-form button[type=submit]")
    page.wait_for_selector("#target-nas")
    assert page.text_content("#target-nas code") == sftp_server.url

    page.check("#target-form input[name=kind][value=s3]")
    page.fill("#t-name", "garage")
    page.fill("#t-endpoint", s3_server.endpoint)
    page.fill("#t-bucket", s3_server.bucket)
    page.fill("#t-prefix", "maison")
    page.fill("#t-access-key", "selfdata")
    page.fill("#t-secret-key", "selfdata-secret")
    page.click("#target-form button[type=submit]")
    page.wait_for_selector("#target-garage")
    assert page.text_content("#target-garage code") == f"s3://{s3_server.bucket}/maison"
    for name in ("nas", "garage"):
        page.click(f"[data-run={name}]")
        page.wait_for_selector(f"#target-{name} .last-result[data-ok=true]", timeout=60_000)
    assert "selfdata-secret" not in page.content()  # secrets never come back

    # changing when and how many keeps the place and its secrets
    page.click("#target-nas summary")
    page.select_option("#e-nas-schedule", "every 7d")
    page.fill("#e-nas-daily", "3")
    page.check("#target-nas input[name=paused]")
    check_axe(page, axe, "backups: editing a target")
    page.click("form[data-edit=nas] button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('#target-nas .pairs').textContent.includes('paused')"
    )
    pairs = page.text_content("#target-nas .pairs") or ""
    assert "Every week · paused" in pairs, pairs
    assert "the last 3 days, 4 weeks and 12 months" in pairs, pairs
    assert page.input_value("#e-nas-schedule") == "every 7d"
    with page.expect_navigation(timeout=60_000):  # the page reloads only on success
        page.click("[data-run=nas]")  # the SSH key was kept: it still backs up
    assert page.get_attribute("#target-nas .last-result", "data-ok") == "true"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-remove=garage]")
    page.wait_for_selector("#target-garage", state="detached")
    assert page.locator("#target-nas").count() == 1
    tab.problems.clear()  # the refused host key's error is expected


def retry_after_backoff(page: Any, button: str, done: str) -> None:
    """Click until ``done`` (a JS condition) holds: after a wrong key, the box makes the
    next try wait."""
    for _ in range(10):
        page.click(button)
        page.wait_for_function(
            f"() => ({done}) || !document.getElementById('restore-error').hidden"
        )
        if page.is_hidden("#restore-error"):
            return
        text = page.text_content("#restore-error") or ""
        assert "too many wrong attempts" in text, text
        seconds = int(text.rsplit("try again in ", 1)[1].split()[0])
        page.wait_for_function("until => Date.now() > until", arg=_now_ms(page) + seconds * 1000)
    raise AssertionError(f"{done} never held")


def _now_ms(page: Any) -> int:
    return int(page.evaluate("Date.now()"))


CONTROL_PAGES = [
    ("home", "/", "h1"),
    ("sources", "/connectors", "#import-any-form"),
    ("journal", "/privacy", "#verify-ledger"),
    ("answers", "/privacy/answers", "#request-form"),
    ("answer-approved", "/privacy/answer?request={approved}", "#statement-download"),
    ("answer-pending", "/privacy/answer?request={pending}", "#refuse-request"),
    ("contribution", "/privacy/contribution", "#contribution-form"),
    ("backups", "/settings/backups", "#target-usb"),
    ("export", "/settings/export", "#export-form"),
    ("settings", "/settings", "#passphrase-form"),
]


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_each_control_page_in_each_language_and_size(
    browser: Any, owner: Owner, axe: str, lang: str, device: str, tmp_path: Path
) -> None:
    if set(owner.requests) != {"approved", "pending"}:
        pytest.skip("needs the requests the flows above made (run the whole module)")
    tab = Tab(browser, owner.server, lang, PHONE if device == "phone" else DESKTOP)
    tab.sign_in(PASSPHRASE)
    page = tab.page
    for name, path, ready in CONTROL_PAGES:
        tab.go(path.format(**owner.requests), ready)
        assert page.get_attribute("html", "lang") == lang
        check_width(page, name)
        check_axe(page, axe, f"{name} {lang} {device}")
        shot(page, f"control-{lang}-{device}-{name}")
    if lang == "fr" and device == "desktop":
        # an upload the API refuses, said in French (the upload's own request, not api())
        tab.go("/connectors", "#import-any-form")
        before = len(tab.problems)
        bad = tmp_path / "photo.ofx"
        bad.write_bytes(b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(200))
        page.set_input_files("#import-any-file", str(bad))
        page.click("#import-any-form button[type=submit]")
        page.wait_for_selector("#import-any-result.error")
        text = page.text_content("#import-any-result") or ""
        assert text.startswith(
            "Rien n'a été importé. La raison : impossible de savoir ce qu'est photo.ofx : "
            "selfdata lit les relevés OFX"
        ), text
        del tab.problems[before:]  # the refused upload's 400 is expected
    tab.check_clean()
    tab.close()


# -- the journal of a box lived in for a few months: the docs' screenshot ----------------------

LIVED_IN_PASSPHRASE = "quince ladder mossy tidal"


def _snapshot(at: float) -> str:
    stamp = dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(5)}"


def lived_in_entries(now: float) -> list[tuple[float, str, dict[str, Any]]]:
    """A household's four months, each entry as the box's own code records it (the same
    kinds and details: archive/events.py, backup/service.py, answers/desk.py,
    contribution/desk.py), with the places a real owner's would have — what the flows
    above cannot give (their targets and collectors live under /tmp, on loopback)."""
    hour, day = 3600.0, 86400.0
    collector = "https://collecte.example.org/v1/contributions"
    settings = Settings(enabled=True, endpoint=collector, area="693830101", epsilon=0.5)
    sent = dt.date.fromtimestamp(now - 70 * day)
    months = [
        f"{m // 12}-{m % 12 + 1:02d}"
        for m in range(sent.year * 12 + sent.month - 4, sent.year * 12 + sent.month - 1)
    ]
    contribution = {
        "endpoint": collector,
        "dataset": settings.dataset,
        "area": settings.area,
        "months": months,
        "epsilon": settings.epsilon,
        "k": settings.k,
        "sha256": secrets.token_hex(32),
    }
    balance = {"account": answers.IBAN, "threshold": 1500, "months": 3, "currency": "EUR"}
    electricity = {"threshold_kwh": 4000, "meter": answers.PRM}

    def backup(at: float, name: str, url: str, files: int) -> tuple[float, str, dict[str, Any]]:
        snapshot = _snapshot(at)
        return at, "backup", {
            "to": name, "url": url, "snapshot": snapshot, "files": files,
            "summary": f"Encrypted backup {snapshot} sent to {name} ({url})",
        }  # fmt: skip

    def export(at: float, fmt: str, sealed: bool) -> tuple[float, str, dict[str, Any]]:
        layout = "Cozy layout" if fmt == "cozy" else "selfdata archive"
        return at, "export", {
            "what": "all", "format": fmt, "encrypted": sealed,
            "counts": {"io.cozy.bank.operations": 1186, "io.cozy.bills": 41},
            "summary": f"Everything exported ({layout}"
            f"{', sealed with a passphrase' if sealed else ''}), downloaded from the box",
        }  # fmt: skip

    def answer(
        at: float, requester: str, template: str, params: dict[str, Any], yes: bool | None
    ) -> tuple[float, str, dict[str, Any]]:
        details: dict[str, Any] = {
            "decision": "refused" if yes is None else "approved",
            "request_id": secrets.token_hex(16),
            "requester": requester,
            "question": TEMPLATES[template].question(params),
            "template": template,
            "nonce": secrets.token_urlsafe(16),
        }
        if yes is not None:
            issued = dt.datetime.fromtimestamp(at, dt.UTC)
            details |= {
                "answer": yes,
                "issued_at": issued.isoformat(timespec="seconds"),
                "expires_at": (issued + dt.timedelta(days=30)).isoformat(timespec="seconds"),
                "statement_sha256": secrets.token_hex(32),
            }
        return at, "answer", details

    usb, nas = (
        "/media/cle-usb/selfdata",
        "sftp://selfdata@nas.local:22/volume1/sauvegardes/selfdata",
    )
    return [
        export(now - 121 * day - 5.3 * hour, "selfdata", sealed=True),
        backup(now - 120 * day - 2.1 * hour, "usb", usb, 3127),
        backup(now - 92 * day + 7.6 * hour, "nas", nas, 3411),
        (now - 71 * day - 1.4 * hour, "contribution-settings", settings.to_json()),
        (
            now - 70 * day + 3.2 * hour,
            "contribution",
            contribution | {"status": "consented", "payload": "{}"},
        ),
        (now - 70 * day + 3.2 * hour + 2, "contribution", contribution | {"status": "sent"}),
        answer(
            now - 46 * day - 6.8 * hour,
            "Banque Exemple — prêt immobilier",
            "bank-balance-above",
            balance,
            True,
        ),
        backup(now - 31 * day + 7.6 * hour, "garage", "s3://sauvegardes-maison/selfdata", 3650),
        answer(
            now - 12 * day - 4.5 * hour,
            "Assurance Exemple",
            "electricity-use-below",
            electricity,
            None,
        ),
        backup(now - 2 * day + 7.6 * hour, "nas", nas, 3702),
        export(now - 0.7 * hour, "cozy", sealed=False),
    ]


async def _live_in(data_dir: DataDir) -> None:
    box = await Box.open(data_dir.create())
    try:
        await box.init(LIVED_IN_PASSPHRASE)
        ledger = Ledger(box)
        for at, kind, details in lived_in_entries(time.time()):
            async with box.db.transaction() as conn:
                await ledger.append_in(conn, kind, details, at=int(at))
    finally:
        await box.close()


def test_the_journal_of_a_box_lived_in(browser: Any, axe: str, tmp_path: Path) -> None:
    """The journal as an owner sees it after a few months (docs/screenshots/
    journal-desktop-en.png is control-journal-lived-in-en-desktop.png), checked intact."""
    root = tmp_path / "lived-in"
    with ThreadPoolExecutor(1) as pool:  # the sync Playwright API holds this thread's loop
        pool.submit(asyncio.run, _live_in(DataDir(root / "box"))).result()
    with running_server(root) as server:
        for lang in ("en", "fr"):
            tab = Tab(browser, server, lang, DESKTOP)
            tab.sign_in(LIVED_IN_PASSPHRASE)
            page = tab.go("/privacy", "#verify-ledger")
            page.click("#verify-ledger")
            page.wait_for_selector("#verify-result[data-ok=true]")
            text = page.text_content("main") or ""
            assert "/tmp" not in text
            assert "127.0.0.1" not in text
            assert page.locator("#ledger-entries li").count() == 11
            check_axe(page, axe, f"journal lived in {lang}")
            shot(page, f"control-journal-lived-in-{lang}-desktop")
            tab.check_clean()
            tab.close()
