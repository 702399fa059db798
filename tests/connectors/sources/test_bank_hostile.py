"""Bank files that are damaged, truncated, huge or hostile: clear errors, nothing lost."""

from __future__ import annotations

import io

import pytest
from selfdata.box import Box
from selfdata.connectors.bank import ofx
from selfdata.connectors.bank.store import ACCOUNTS, OPERATIONS
from selfdata.connectors.files import detect_source
from selfdata.connectors.sinks import SourceFile
from selfdata.errors import InputError

from .file_helpers import counts, documents, ingest, sample

JAN = sample("bank", "banque-regionale-2024-01.ofx")
V2 = sample("bank", "spec-v211.ofx").decode()
CAMT = sample("bank", "camt053-2024-01.xml").decode()


def _billion_laughs() -> str:
    """Ten entities, each ten of the previous: 10**9 "lol" if anything expanded them."""
    return "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))


def _v2_with_doctype(doctype: str, name: str) -> bytes:
    head, body = V2.split("<OFX>", 1)
    return (
        (head + doctype + "\n<OFX>" + body)
        .replace("<NAME>GROCERY MART</NAME>", f"<NAME>{name}</NAME>")
        .encode()
    )


async def test_an_ofx_entity_bomb_is_never_expanded(box: Box) -> None:
    laughs = _billion_laughs()
    data = _v2_with_doctype(f"<!DOCTYPE OFX [{laughs}]>", "&l9;")
    report = await ingest(box, "bomb.ofx", data)
    assert counts(report, OPERATIONS) == (4, 0, 0)
    labels = {op["label"] for op in await documents(box, OPERATIONS)}
    assert "&l9;" in labels  # left as written: no entity is ever expanded


async def test_an_ofx_external_entity_is_never_fetched(box: Box) -> None:
    data = _v2_with_doctype('<!DOCTYPE OFX [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;")
    await ingest(box, "xxe.ofx", data)
    labels = {op["label"] for op in await documents(box, OPERATIONS)}
    assert "&x;" in labels
    assert not any("root:" in label for label in labels)


async def test_a_camt_entity_bomb_is_refused_before_expansion(box: Box) -> None:
    laughs = _billion_laughs()
    data = CAMT.replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE Document [{laughs}]>',
    ).replace("VIR SEPA RECU", "&l9;")
    report = await ingest(box, "bomb.xml", data.encode())
    assert report["errors"] == 1
    assert "not valid CAMT XML" in report["error_samples"][0]["message"]
    assert await documents(box, OPERATIONS) == []


async def test_a_camt_external_entity_is_refused(box: Box) -> None:
    data = CAMT.replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<!DOCTYPE Document [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    ).replace("VIR SEPA RECU", "&x;")
    report = await ingest(box, "xxe.xml", data.encode())
    assert "not valid CAMT XML" in report["error_samples"][0]["message"]
    assert await documents(box, OPERATIONS) == []


@pytest.mark.parametrize("cut", ["<TRNAMT>-3,2", "<FITID>20240120000", "<NAME>CB CAF"])
async def test_a_truncated_ofx_keeps_every_complete_operation(box: Box, cut: str) -> None:
    text = JAN.decode("cp1252")
    # cut inside the 5th transaction (the second coffee of the 20th)
    fifth = text.index("<STMTTRN>", text.index("<FITID>2024012000004"))
    end = text.index(cut, fifth) + len(cut)
    report = await ingest(box, "cut.ofx", text[:end].encode("cp1252"))
    stored = {op["vendorId"] for op in await documents(box, OPERATIONS)}
    assert stored == {"2024010200001", "2024010500002", "2024011000003", "2024012000004"}
    messages = " ".join(e["message"] for e in report["error_samples"])
    assert "cut by the end of the file" in messages
    assert "truncated" in messages
    (account,) = await documents(box, ACCOUNTS)
    assert "balance" not in account  # the LEDGERBAL never came


async def test_a_truncated_camt_keeps_the_entries_before_the_cut(box: Box) -> None:
    cut = CAMT[: CAMT.index("<NtryRef>3</NtryRef>")]
    report = await ingest(box, "cut.xml", cut.encode())
    assert counts(report, OPERATIONS) == (2, 0, 0)
    assert any("not valid CAMT XML" in e["message"] for e in report["error_samples"])


async def test_an_ofx_that_says_utf8_but_is_windows_1252(box: Box) -> None:
    data = JAN.replace(b"CHARSET:1252", b"CHARSET:UTF-8").replace(b"USASCII", b"UTF-8")
    await ingest(box, "faux-utf8.ofx", data)
    labels = {op["label"] for op in await documents(box, OPERATIONS)}
    assert "CB CAFÉ DE LA GARE" in labels


async def test_an_ofx_that_says_1252_but_is_utf8(box: Box) -> None:
    data = JAN.decode("cp1252").encode("utf-8")
    await ingest(box, "faux-1252.ofx", data)
    labels = {op["label"] for op in await documents(box, OPERATIONS)}
    assert "CB CAFÉ DE LA GARE" in labels


async def test_a_bank_error_status_is_reported(box: Box) -> None:
    data = JAN.replace(
        b"<CODE>0\r\n<SEVERITY>INFO",
        b"<CODE>2000\r\n<SEVERITY>ERROR\r\n<MESSAGE>Service indisponible",
    )
    report = await ingest(box, "error.ofx", data)
    assert any("status 2000" in e["message"] for e in report["error_samples"])


async def test_a_bank_that_reuses_a_fitid_keeps_both_operations(box: Box) -> None:
    data = JAN.replace(b"<FITID>2024012000005", b"<FITID>2024012000004")
    report = await ingest(box, "dup.ofx", data)
    assert counts(report, OPERATIONS) == (5, 0, 0)
    again = await ingest(box, "dup.ofx", data)
    assert counts(again, OPERATIONS) == (0, 0, 5)


async def test_empty_fitids_fall_back_to_content_ids(box: Box) -> None:
    text = JAN.decode("cp1252")
    import re

    data = re.sub(r"<FITID>\d+\r\n", "<FITID>\r\n", text).encode("cp1252")
    first = await ingest(box, "nofitid.ofx", data)
    assert counts(first, OPERATIONS) == (5, 0, 0)
    again = await ingest(box, "nofitid.ofx", data)
    assert counts(again, OPERATIONS) == (0, 0, 5)


async def test_a_huge_file_is_refused_with_a_reason(box: Box) -> None:
    data = JAN + b" " * (ofx.MAX_OFX + 1)
    report = await ingest(box, "huge.ofx", data)
    assert "larger than" in report["error_samples"][0]["message"]
    assert await documents(box, OPERATIONS) == []


async def test_a_long_statement_streams_through(box: Box) -> None:
    text = JAN.decode("cp1252")
    start, end = text.index("<STMTTRN>"), text.index("</BANKTRANLIST>")
    many = "".join(
        f"<STMTTRN>\r\n<TRNTYPE>DEBIT\r\n<DTPOSTED>2024{1 + i % 12:02d}{1 + i % 28:02d}\r\n"
        f"<TRNAMT>-{i % 500},{i % 100:02d}\r\n<FITID>N{i}\r\n<NAME>OP {i}\r\n</STMTTRN>\r\n"
        for i in range(5000)
    )
    report = await ingest(box, "long.ofx", (text[:start] + many + text[end:]).encode("cp1252"))
    assert counts(report, OPERATIONS) == (5000, 0, 0)
    assert counts(report, ACCOUNTS)[0] == 1


@pytest.mark.parametrize(
    "data",
    [b"\x00\x01\x02garbage\xff" * 100, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", b""],
)
def test_a_file_nobody_reads_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(InputError, match=r"cannot tell|is empty"):
        detect_source(SourceFile("x.bin", io.BytesIO(data)))


async def test_ofx_without_body_is_reported_not_crashed(box: Box) -> None:
    report = await ingest(box, "head.ofx", JAN[: JAN.index(b"<OFX>")], fmt="ofx")
    assert "no <OFX> element" in report["error_samples"][0]["message"]
