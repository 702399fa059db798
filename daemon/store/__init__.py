"""The encrypted store: SQLite holding ciphertext, plus encrypted blobs for files."""

from .db import SCHEMA_VERSION, Database
from .documents import DocumentStore, PutResult
from .files import FILES_DOCTYPE, FileStore
from .inbox import Inbox, InboxBatch, MergeReport
from .series import AGGREGATES, SeriesInfo, SeriesStore

__all__ = [
    "AGGREGATES",
    "FILES_DOCTYPE",
    "SCHEMA_VERSION",
    "Database",
    "DocumentStore",
    "FileStore",
    "Inbox",
    "InboxBatch",
    "MergeReport",
    "PutResult",
    "SeriesInfo",
    "SeriesStore",
]
