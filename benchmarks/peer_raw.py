"""Peer: the same JSON Lines into plain SQLite with ``executemany``, no crypto (a floor).

Usage: python peer_raw.py FILE DB. One column per top-level field (nested values as
JSON text, as sqlite-utils stores them), one transaction, sqlite3's default settings.
Timed from outside, so interpreter start-up counts as it does for the others.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from typing import Any


def rows(path: str, columns: list[str]) -> Iterator[tuple[Any, ...]]:
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            doc = json.loads(line)
            yield tuple(
                json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                for v in (doc.get(c) for c in columns)
            )


def main(path: str, db_path: str) -> None:
    with open(path, encoding="utf-8") as f:
        columns = list(json.loads(f.readline()))
    db = sqlite3.connect(db_path)
    names = ", ".join(f'"{c}"' for c in columns)
    db.execute(f"CREATE TABLE ops (rowid INTEGER PRIMARY KEY, {names})")
    with db:
        db.executemany(
            f"INSERT INTO ops ({names}) VALUES ({', '.join('?' * len(columns))})",
            rows(path, columns),
        )
    db.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
