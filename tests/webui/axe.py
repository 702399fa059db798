"""axe-core for the browser tests: fetched once from the npm registry, checked, cached.

``./dev test`` runs this module first (``python tests/webui/axe.py``); the tests call
:func:`axe_source`, which fetches on a cache miss too. The tarball's SHA-512 must match
the one pinned here.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import urllib.request
from pathlib import Path

VERSION = "4.14.1"
URL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
INTEGRITY = (
    "FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "selfdata-tests"


def axe_source() -> str:
    path = cache_dir() / f"axe-core-{VERSION}.min.js"
    if not path.exists():
        with urllib.request.urlopen(URL, timeout=60) as resp:
            tarball = resp.read()
        digest = base64.b64encode(hashlib.sha512(tarball).digest()).decode()
        if digest != INTEGRITY:
            raise RuntimeError(f"axe-core {VERSION}: the tarball does not match its pinned SHA-512")
        with tarfile.open(fileobj=io.BytesIO(tarball)) as tar:
            member = tar.extractfile("package/axe.min.js")
            assert member is not None
            source = member.read()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(source)
        tmp.replace(path)
    return path.read_text(encoding="utf-8")


if __name__ == "__main__":
    print(f"axe-core {VERSION}: {len(axe_source())} bytes in {cache_dir()}")
