"""Running test connectors (tests/connectors/examples) in real child processes."""

from __future__ import annotations

import importlib
from typing import Any

from selfdata.box import Box
from selfdata.connectors.runtime.registry import ConnectorSpec
from selfdata.connectors.runtime.runner import Run, RunRequest, execute
from selfdata.connectors.runtime.targets import BoxTarget, NoTarget

EXAMPLES = "tests.connectors.examples"


def spec(name: str) -> ConnectorSpec:
    module = importlib.import_module(f"{EXAMPLES}.{name}")
    return ConnectorSpec(module.MANIFEST, module.__name__, probe=hasattr(module, "probe"))


async def run_example(
    name: str,
    box: Box | None,
    credentials: dict[str, str],
    *,
    state: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Run:
    request = RunRequest(
        spec(name),
        account_id="acc1",
        credentials=credentials,
        state=state or {},
        http_backoff=0.01,
        **kwargs,
    )
    target = BoxTarget(box, may_use_inbox=request.spec.manifest.runs_locked) if box else NoTarget()
    protect = (box.paths.root,) if box else ()
    return await execute(Run.start(request), request, target, protect=protect)
