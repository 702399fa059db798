"""Schema migrations, applied in order; ``PRAGMA user_version`` records how far.

Append only: a released migration never changes. What each column reveals in clear is
listed in docs/threat-model.md, and a test keeps that list true.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE doctypes (
        hash  BLOB PRIMARY KEY,          -- keyed hash of the doctype name
        name  BLOB NOT NULL              -- the name, encrypted
    ) WITHOUT ROWID;
    CREATE TABLE documents (
        seq     INTEGER PRIMARY KEY,     -- write order, for stable paging
        doctype BLOB NOT NULL REFERENCES doctypes(hash),
        id      BLOB NOT NULL,           -- keyed hash of the document id
        version INTEGER NOT NULL,
        body    BLOB NOT NULL,           -- XChaCha20-Poly1305(JSON, zstd when it helps),
                                         -- bound to doctype/id/version
        UNIQUE (doctype, id)
    );
    CREATE INDEX documents_by_doctype ON documents(doctype, seq);
    CREATE TABLE series (
        hash  BLOB PRIMARY KEY,          -- keyed hash of the series name
        name  BLOB NOT NULL              -- the name and unit, encrypted
    ) WITHOUT ROWID;
    CREATE TABLE series_chunks (
        series  BLOB NOT NULL REFERENCES series(hash),
        day     INTEGER NOT NULL,        -- days since 1970-01-01 (UTC)
        version INTEGER NOT NULL,
        body    BLOB NOT NULL,           -- zstd(columns) encrypted, bound to series/day/version
        PRIMARY KEY (series, day)
    ) WITHOUT ROWID;
    CREATE TABLE inbox (
        seq        INTEGER PRIMARY KEY,
        sealed_key BLOB NOT NULL,        -- per-batch key sealed to the vault's X25519 key
        body       BLOB NOT NULL         -- the batch, encrypted with that key
    )
    """,
    # 2: connector accounts that may run while the box is locked (they hold no secret),
    #    so that they can start after a reboot, before the owner unlocks
    """
    CREATE TABLE locked_sources (
        account   TEXT PRIMARY KEY,      -- random account id
        connector TEXT NOT NULL,         -- connector id, e.g. linky-tic
        settings  TEXT NOT NULL          -- its non-secret settings (JSON): device, schedule
    )
    """,
    # 3: the consent ledger (docs/ledger.md), its entries recorded while locked, answer
    #    requests (docs/answers.md) and the contribution's state (docs/contribution.md)
    """
    CREATE TABLE ledger (
        seq  INTEGER PRIMARY KEY,        -- 1, 2, 3 … without gaps
        body BLOB NOT NULL,              -- XChaCha20-Poly1305({time, kind, details}), bound to seq
        hash BLOB NOT NULL,              -- BLAKE2b(previous hash || seq || body): the chain
        sig  BLOB NOT NULL               -- the box's Ed25519 signature of (seq, hash)
    );
    CREATE TABLE ledger_queue (
        seq    INTEGER PRIMARY KEY,      -- arrival order
        sealed BLOB NOT NULL             -- an entry recorded while locked, sealed to the vault
    );
    CREATE TABLE answer_requests (
        id    TEXT PRIMARY KEY,          -- random id
        nonce BLOB NOT NULL UNIQUE,      -- keyed hash of the requester's nonce: replays refused
        body  BLOB NOT NULL              -- the request, its state and statement, encrypted
    );
    CREATE TABLE consent_state (
        name BLOB PRIMARY KEY,           -- keyed hash of what it is (e.g. contribution settings)
        body BLOB NOT NULL               -- its value, encrypted, bound to the name
    ) WITHOUT ROWID
    """,
    # 4: documents unique by their id hash alone. That hash is keyed over the doctype's
    #    hash already, so (doctype, id) added 16 bytes to every entry of an index that
    #    imports write at random places (keyed hashes are random): half of the pages each
    #    commit rewrote. Rows keep their seq (paging cursors stay valid). Two rows with the
    #    same id hash cannot both be genuine: the first in write order is kept.
    """
    CREATE TABLE documents_v4 (
        seq     INTEGER PRIMARY KEY,     -- write order, for stable paging
        doctype BLOB NOT NULL REFERENCES doctypes(hash),
        id      BLOB NOT NULL,           -- keyed hash of the doctype hash and document id
        version INTEGER NOT NULL,
        body    BLOB NOT NULL            -- XChaCha20-Poly1305(JSON, zstd when it helps),
                                         -- bound to doctype/id/version
    );
    CREATE UNIQUE INDEX documents_by_id ON documents_v4(id);
    INSERT OR IGNORE INTO documents_v4(seq, doctype, id, version, body)
        SELECT seq, doctype, id, version, body FROM documents ORDER BY seq;
    DROP TABLE documents;
    ALTER TABLE documents_v4 RENAME TO documents;
    CREATE INDEX documents_by_doctype ON documents(doctype, seq)
    """,
    """
    CREATE TABLE dictionaries (
        seq     INTEGER PRIMARY KEY,     -- order added: a doctype writes with its newest
        id      INTEGER NOT NULL UNIQUE, -- zstd dictionary id (random), named by frames
        doctype BLOB NOT NULL REFERENCES doctypes(hash),
        body    BLOB NOT NULL            -- the dictionary, encrypted, bound to doctype and id
    )
    """,
)
