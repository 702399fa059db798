"""A box the test may close itself (to tamper with its file), closed once at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from selfdata.box import Box
from selfdata.paths import DataDir

from ...conftest import PASSPHRASE


class ClosableBox:
    def __init__(self, box: Box) -> None:
        self.box = box
        self.open = True

    async def close(self) -> None:
        if self.open:
            self.open = False
            await self.box.close()


@pytest.fixture
async def closable(data_dir: DataDir) -> AsyncIterator[ClosableBox]:
    opened = await Box.open(data_dir)
    await opened.init(PASSPHRASE)
    holder = ClosableBox(opened)
    try:
        yield holder
    finally:
        await holder.close()
