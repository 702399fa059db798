"""The scheduler: starts connector runs when they are due, one child process each.

* Triggers (see :mod:`.triggers`): intervals and cron lines with a stable jitter,
  ``at unlock``, and runs the owner asks for. A run that became due while the box was
  off or locked runs once when it can (catch-up), not once per missed time.
* The wall clock is trusted only when :mod:`.clock` says so. Until then, connectors
  that reach the network wait (TLS would fail anyway); local sources (``runs_locked``)
  run on the monotonic clock. A clock jump re-plans everything.
* At most ``max_concurrent`` runs at once (1 on a Raspberry Pi); the others queue.
* Connectors that need a secret run only while the box is unlocked (locking stops their
  runs); ``runs_locked`` ones go on, writing into the sealed inbox.
* Outcomes become the account's status: ``auth_failed``/``user_action_needed`` stop
  automatic runs until the owner edits the account or runs it by hand; ``rate_limited``
  waits as long as the service said; ``service_down``, ``bug`` and ``timeout`` back off
  exponentially. The journal gets one line when an account starts failing and one when it
  recovers, never one per run (and never user data: the connector id and the outcome).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..box import Box
from ..connectors.runtime.process import isolation_available
from ..connectors.runtime.registry import ConnectorSpec, Registry, discover
from ..connectors.runtime.runner import Run, RunRequest, execute
from ..connectors.runtime.targets import BoxTarget, NoTarget
from ..errors import Conflict, InputError, Locked, NotFound
from .accounts import Account, AccountStore, check_base_urls, check_credentials
from .clock import Clock, SystemClock
from .triggers import jitter, parse_schedule

__all__ = ["Scheduler", "SchedulerConfig", "default_concurrency"]

log = logging.getLogger("selfdata.scheduler")
STOPPING_STATUSES = ("needs_action",)


def default_concurrency() -> int:
    """``SELFDATA_MAX_RUNS``, else 1 on a Raspberry Pi or a small machine, else 2."""
    if env := os.environ.get("SELFDATA_MAX_RUNS"):
        with contextlib.suppress(ValueError):
            return max(1, int(env))
    try:
        model = Path("/proc/device-tree/model").read_bytes()
    except OSError:
        model = b""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        memory = 0
    return 1 if b"Raspberry Pi" in model or memory < 3 * 1024**3 else 2


@dataclass
class SchedulerConfig:
    max_concurrent: int = field(default_factory=default_concurrency)
    #: Entry points too (tests turn them off, as Datasette's tests do plugins).
    installed: bool = True
    #: More connector modules, for developing one without packaging it:
    #: ``SELFDATA_CONNECTOR_MODULES=mypkg.myconnector,other.module:obj``.
    extra: tuple[str, ...] = field(default_factory=lambda: _env_list("SELFDATA_CONNECTOR_MODULES"))
    backoff_base: float = 300.0
    backoff_max: float = 24 * 3600.0
    rate_limited_default: float = 900.0
    checkpoint_every: float = 5.0
    tick_max: float = 60.0
    http_backoff: float = 1.0
    #: A new account's first run: this long after it was added.
    first_run_delay: float = 5.0


class Scheduler:
    def __init__(self, box: Box, config: SchedulerConfig | None = None, clock: Clock | None = None):
        self.box = box
        self.config = config or SchedulerConfig()
        self.clock = clock or SystemClock()
        self.store = AccountStore(box)
        self._registry: Registry | None = None
        self._registry_lock = asyncio.Lock()
        self._accounts: dict[str, Account] = {}
        self._states: dict[str, dict[str, Any]] = {}
        self._due: dict[str, float | None] = {}
        self._last_mono: dict[str, float] = {}
        self._running: dict[str, Run] = {}
        self._live: dict[str, Run] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._side: set[asyncio.Task[Any]] = set()
        self._pending: dict[str, list[dict[str, Any]]] = {}  # runs recorded while locked
        self._checkpointed: dict[str, float] = {}
        self._sem = asyncio.Semaphore(self.config.max_concurrent)
        self._state_lock = asyncio.Lock()
        self._first_due: dict[str, float] = {}
        self._started_wall: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._trusted: bool | None = None
        self._started = self.clock.monotonic()

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        if not isolation_available()["landlock_abi"]:
            log.warning(
                "Landlock is not available (kernel, or the systemd unit's SystemCallFilter=): "
                "connectors run with fewer walls (docs/connectors.md)"
            )
        await self.reload()
        self._loop = asyncio.create_task(self._run_loop(), name="scheduler")

    async def close(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, *self._side, return_exceptions=True)

    def box_changed(self, box: Box) -> None:
        """A ``STATE_LISTENERS`` callback: the box was unlocked, locked or set up."""
        self._spawn(self._after_box_change())

    async def _after_box_change(self) -> None:
        if self.box.locked:
            for account_id, run in list(self._running.items()):
                spec = await self._spec(run.connector)
                if spec is None or not spec.manifest.runs_locked:
                    self._tasks[account_id].cancel()
            await self.reload()
            return
        await self._flush_pending()
        await self.reload()
        for account in self._accounts.values():
            schedule = self._schedule(account)
            if schedule is not None and schedule.at_unlock and self._runnable(account):
                await self._start(account, "unlock")

    async def reload(self) -> None:
        """Read the accounts again (all when unlocked; the locked-time ones otherwise)."""
        if not self.box.initialized:
            accounts: list[Account] = []
        elif self.box.locked:
            accounts = await self.store.locked_sources()
        else:
            accounts = await self.store.all()
            for account in accounts:
                if account.id not in self._pending:
                    self._states[account.id] = await self.store.state(account.id)
        self._accounts = {a.id: a for a in accounts}
        for account in accounts:
            self._states.setdefault(account.id, _new_state(account.id))
        if accounts:
            await self.registry()
        self._plan_all()

    async def registry(self) -> Registry:
        async with self._registry_lock:
            if self._registry is None:
                self._registry = await discover(
                    installed=self.config.installed,
                    extra=self.config.extra,
                    protect=(self.box.paths.root,),
                )
            return self._registry

    # -- what the owner does (API and CLI) ---------------------------------------------------

    async def catalogue(self) -> list[dict[str, Any]]:
        return [spec.to_json() for spec in (await self.registry()).all()]

    async def connector(self, connector_id: str) -> dict[str, Any]:
        return (await self.registry()).get(connector_id).to_json()

    async def add_account(
        self,
        connector: str,
        *,
        credentials: Mapping[str, Any],
        label: str = "",
        base_urls: Mapping[str, Any] | None = None,
        schedule: str | None = None,
        enabled: bool = True,
    ) -> dict[str, Any]:
        self.box.documents  # noqa: B018  (locked: say so first)
        spec = (await self.registry()).get(connector)
        if not spec.sync:
            raise InputError(f"{connector} reads files: import them with `selfdata import FILE`")
        fields, secrets = check_credentials(spec.manifest, credentials)
        account = await self.store.create(connector)
        account.fields, account.label, account.enabled = fields, label[:200], enabled
        account.base_urls = check_base_urls(spec.manifest, base_urls or {})
        account.schedule = _check_schedule(schedule)
        await self.store.put(account, spec.manifest, secrets)
        self._accounts[account.id] = account
        self._states[account.id] = _new_state(account.id)
        self._first_due[account.id] = self.clock.monotonic() + self.config.first_run_delay
        self._plan(account)
        self._wake.set()
        log.info("connector %s: account added", connector)
        return await self.account(account.id)

    async def update_account(self, account_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        self.box.documents  # noqa: B018
        account = await self.store.get(account_id)
        spec = (await self.registry()).get(account.connector)
        secrets = None
        if "credentials" in changes:
            current = self.store.secrets(account)
            account.fields, secrets = check_credentials(
                spec.manifest, changes["credentials"], fields=account.fields, secrets=current
            )
        if "base_urls" in changes:
            account.base_urls = check_base_urls(spec.manifest, changes["base_urls"])
        if "schedule" in changes:
            account.schedule = _check_schedule(changes["schedule"])
        if "label" in changes:
            account.label = str(changes["label"])[:200]
        if "enabled" in changes:
            account.enabled = bool(changes["enabled"])
        await self.store.put(account, spec.manifest, secrets)
        self._accounts[account.id] = account
        state = self._states.setdefault(account.id, await self.store.state(account.id))
        acted = secrets is not None or "base_urls" in changes
        if acted and state.get("status") in ("needs_action", "failing", "waiting"):
            # the owner acted: automatic runs may try again, now
            state.update(status="new", message="", url=None, failures=0, next_after=None)
            await self._write_state(account.id)
            self._last_mono.pop(account.id, None)
            self._first_due[account.id] = self.clock.monotonic() + self.config.first_run_delay
        self._plan(account)
        self._wake.set()
        return await self.account(account.id)

    async def remove_account(self, account_id: str) -> None:
        self.box.documents  # noqa: B018
        task = self._tasks.get(account_id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.store.delete(account_id)
        self._accounts.pop(account_id, None)
        self._states.pop(account_id, None)
        self._due.pop(account_id, None)
        self._pending.pop(account_id, None)

    async def accounts(self) -> list[dict[str, Any]]:
        if self.box.locked:
            raise Locked()
        return [
            self._describe(a) for a in sorted(self._accounts.values(), key=lambda a: a.created_at)
        ]

    async def account(self, account_id: str) -> dict[str, Any]:
        self.box.documents  # noqa: B018
        account = self._accounts.get(account_id) or await self.store.get(account_id)
        return self._describe(account)

    async def run_now(self, account_id: str) -> dict[str, Any]:
        account = self._accounts.get(account_id)
        if account is None:
            self.box.documents  # noqa: B018
            account = await self.store.get(account_id)
        running = self._running.get(account_id)
        if running is not None:
            return running.to_json(log=False)
        run = await self._start(account, "manual")
        if run is None:
            raise Conflict(
                self._states.get(account_id, {}).get("message") or "this account cannot run now"
            )
        return run.to_json(log=False)

    async def wait(self, run_id: str) -> dict[str, Any]:
        """The run's record once it has ended."""
        for account_id, run in list(self._running.items()):
            if run.id == run_id:
                task = self._tasks.get(account_id)
                if task is not None:
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.shield(task)
        return await self.run_record(run_id)

    async def run_record(self, run_id: str) -> dict[str, Any]:
        live = self._live.get(run_id)
        if live is not None:
            return live.to_json()
        for runs in self._pending.values():
            for record in runs:
                if record["id"] == run_id:
                    return record
        self.box.documents  # noqa: B018
        return await self.store.run(run_id)

    async def runs(self, account_id: str) -> list[dict[str, Any]]:
        self.box.documents  # noqa: B018
        if account_id not in self._accounts:
            await self.store.get(account_id)
        state = self._states.get(account_id) or await self.store.state(account_id)
        found: list[dict[str, Any]] = []
        live = self._running.get(account_id)
        if live is not None:
            found.append(live.to_json(log=False))
        for run_id in reversed(state.get("runs", [])):
            with contextlib.suppress(NotFound):
                record = await self.store.run(run_id)
                record.pop("log", None)
                found.append(record)
        return found

    async def probe(
        self, connector: str, options: Mapping[str, str], account_id: str | None = None
    ) -> dict[str, Any]:
        spec = (await self.registry()).get(connector)
        if not spec.probe:
            raise InputError(f"{connector} has no probe")
        credentials: dict[str, str] = {}
        if account_id:
            account = await self.store.get(account_id)
            credentials = {**account.fields, **self.store.secrets(account)}
        request = RunRequest(
            spec, account_id=account_id or "", credentials=credentials,
            mode="probe", options=dict(options), trigger="probe",
            http_backoff=self.config.http_backoff,
        )  # fmt: skip
        run = Run.start(request, clock_trusted=self.clock.trusted())
        await execute(run, request, NoTarget(), protect=(self.box.paths.root,))
        return run.to_json()

    # -- planning ----------------------------------------------------------------------------

    def _schedule(self, account: Account) -> Any:
        spec = self._registry.specs.get(account.connector) if self._registry else None
        text = account.schedule or (spec.manifest.schedule if spec else None)
        if text is None:
            return None
        try:
            return parse_schedule(text)
        except InputError:
            return None

    def _runnable(self, account: Account) -> bool:
        spec = self._registry.specs.get(account.connector) if self._registry else None
        if spec is None or not spec.sync or not account.enabled:
            return False
        if self.box.locked and not spec.manifest.runs_locked:
            return False
        return self._states.get(account.id, {}).get("status") not in STOPPING_STATUSES

    def _plan_all(self) -> None:
        for account in self._accounts.values():
            self._plan(account)
        self._wake.set()

    def _plan(self, account: Account) -> None:
        self._due[account.id] = self._next_due(account)

    def _next_due(self, account: Account) -> float | None:
        schedule = self._schedule(account)
        if schedule is None or schedule.manual or not self._runnable(account):
            return None
        spec = self._registry.specs[account.connector] if self._registry else None
        local = spec is not None and spec.manifest.runs_locked
        trusted = self.clock.trusted()
        if not trusted and not local:
            return None  # network sources wait for a trusted clock
        now = self.clock.monotonic()
        state = self._states.get(account.id, {})
        last_wall = _last_wall(state) if trusted else None
        last_mono = self._last_mono.get(account.id)
        if last_mono is None and last_wall is not None:
            last_mono = self.clock.mono_of(last_wall)
        candidates: list[float] = []
        if schedule.interval is not None:
            if last_mono is None:  # never ran: soon after it was added (or the start)
                default = self._started + self.config.first_run_delay
                candidates.append(self._first_due.get(account.id, default))
            else:
                due = last_mono + schedule.interval
                candidates.append(due + jitter(account.id, due, schedule.period))
        if schedule.cron is not None and trusted:
            wall = self.clock.wall()
            reference = dt.datetime.fromtimestamp(last_wall or wall, dt.UTC)
            nxt = schedule.next_cron(reference)
            if nxt is not None:
                fire = nxt.timestamp()
                if last_wall is None and state.get("status") != "new":
                    fire = schedule.next_cron(dt.datetime.fromtimestamp(wall, dt.UTC)).timestamp()
                due = self.clock.mono_of(max(fire, wall if fire < wall else fire))
                candidates.append(due + jitter(account.id, fire, schedule.period))
        if not candidates:
            return None
        after = state.get("next_after")
        if isinstance(after, int | float):
            # failing or rate limited: the retry time replaces the schedule (sooner for a
            # daily source that hit an outage, later for a frequent one backing off)
            return self.clock.mono_of(after) if trusted else now + 60.0
        return min(candidates)

    async def _run_loop(self) -> None:
        while True:
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must survive anything one account does
                log.exception("the scheduler hit a bug; it carries on")
            now = self.clock.monotonic()
            dues = [d for a, d in self._due.items() if d is not None and a not in self._running]
            wait = min([self.config.tick_max, *[d - now for d in dues]])
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.05, wait))

    async def _tick(self) -> None:
        jump = self.clock.jumped()
        trusted = self.clock.trusted()
        if jump:
            log.info("the wall clock moved by %+.0f s: re-planning", jump)
        if trusted != self._trusted:
            if self._trusted is not None or not trusted:
                log.info(
                    "wall clock %s",
                    "trusted" if trusted else "not trusted yet: waiting for time sync",
                )
            self._trusted = trusted
            jump = jump or 1.0
            if trusted:  # runs that could not date anything try again on their schedule
                for state in self._states.values():
                    last = state.get("last_run") or {}
                    if last.get("clock_trusted") is False and state.get("status") == "failing":
                        state["next_after"] = None
        if jump:
            self._plan_all()
        now = self.clock.monotonic()
        for account_id, due in list(self._due.items()):
            if due is None or due > now or account_id in self._running:
                continue
            account = self._accounts.get(account_id)
            if account is not None:
                await self._start(account, "schedule")

    # -- running -----------------------------------------------------------------------------

    async def _spec(self, connector: str) -> ConnectorSpec | None:
        return (await self.registry()).specs.get(connector)

    async def _start(self, account: Account, trigger: str) -> Run | None:
        if account.id in self._running:
            return self._running[account.id]
        spec = await self._spec(account.connector)
        state = self._states.setdefault(account.id, _new_state(account.id))
        if spec is None:
            state["message"] = f"the connector {account.connector} is not installed"
            self._due[account.id] = None
            return None
        if not spec.sync:
            return None
        if self.box.locked and not spec.manifest.runs_locked:
            raise Locked("the box is locked: this source needs its credentials")
        secrets = {} if self.box.locked else self.store.secrets(account)
        request = RunRequest(
            spec,
            account_id=account.id,
            credentials={**account.fields, **secrets},
            state=dict(state.get("state") or {}),
            base_urls=dict(account.base_urls),
            trigger=trigger,
            daily_remaining=_daily_remaining(spec, state),
            http_backoff=self.config.http_backoff,
        )
        run = Run.start(request, clock_trusted=self.clock.trusted())
        run.status = "queued"
        self._running[account.id] = run
        self._live[run.id] = run
        self._due[account.id] = None
        self._last_mono[account.id] = self.clock.monotonic()
        self._started_wall[account.id] = self.clock.wall()
        self._tasks[account.id] = asyncio.create_task(
            self._execute(account, spec, request, run), name=f"run-{run.id[:8]}"
        )
        return run

    async def _execute(
        self, account: Account, spec: ConnectorSpec, request: RunRequest, run: Run
    ) -> None:
        state = self._states[account.id]
        cancelled = False
        try:
            async with self._sem:
                run.status = "running"
                target = BoxTarget(
                    self.box,
                    may_use_inbox=spec.manifest.runs_locked,
                    files=state.setdefault("files", {}),
                )
                await execute(
                    run, request, target, protect=(self.box.paths.root,),
                    on_state=lambda s: self._checkpoint(account.id, s),
                )  # fmt: skip
        except asyncio.CancelledError:
            cancelled = True
            if run.status != "done":
                run.outcome, run.status, run.message = "cancelled", "done", "the run was stopped"
        except Exception as err:  # a daemon-side failure (the store, say): the run is a bug
            log.exception("connector %s: the run failed in the daemon", spec.id)
            run.outcome, run.status, run.message = "bug", "done", f"daemon: {type(err).__name__}"
        finally:
            try:
                await self._finished(account, spec, run)
            finally:
                self._running.pop(account.id, None)
                self._tasks.pop(account.id, None)
                self._live.pop(run.id, None)
                self._plan(account)
                self._wake.set()
        if cancelled:
            raise asyncio.CancelledError()

    def _checkpoint(self, account_id: str, connector_state: dict[str, Any]) -> None:
        state = self._states.get(account_id)
        if state is None:
            return
        state["state"] = connector_state
        now = self.clock.monotonic()
        if (
            self.box.locked
            or now - self._checkpointed.get(account_id, 0) < self.config.checkpoint_every
        ):
            return
        self._checkpointed[account_id] = now
        self._spawn(self._write_state(account_id))

    async def _write_state(self, account_id: str) -> None:
        """Write the account's current state (never an older copy over a newer one)."""
        async with self._state_lock:
            state = self._states.get(account_id)
            if state is not None and not self.box.locked:
                await self.store.put_state(state)

    async def _finished(self, account: Account, spec: ConnectorSpec, run: Run) -> None:
        state = self._states.setdefault(account.id, _new_state(account.id))
        previous = state.get("status", "new")
        outcome = run.outcome or "bug"
        state["state"] = run.state
        state["last_run"] = {
            "id": run.id, "outcome": outcome, "trigger": run.trigger,
            "started_at": run.started_at, "ended_at": run.ended_at,
            "clock_trusted": run.clock_trusted,
            "wall": self._started_wall.get(account.id, self.clock.wall()),
        }  # fmt: skip
        today = dt.datetime.now(dt.UTC).date().isoformat()
        if state.get("http_day") != today:
            state["http_day"], state["http_count"] = today, 0
        state["http_count"] = int(state.get("http_count", 0)) + run.http_requests
        wall = self.clock.wall()
        if outcome == "ok":
            state.update(status="ok", message="", url=None, failures=0, next_after=None)
            state["last_success"] = run.ended_at
        elif outcome in ("auth_failed", "user_action_needed"):
            state.update(status="needs_action", message=run.message, url=run.url, next_after=None)
        elif outcome == "rate_limited":
            wait = (
                run.retry_after if run.retry_after is not None else self.config.rate_limited_default
            )
            state.update(status="waiting", message=run.message, next_after=wall + wait)
        elif outcome == "cancelled":
            pass  # resumes from its state when it can run again
        else:
            failures = int(state.get("failures", 0)) + 1
            backoff = min(self.config.backoff_max, self.config.backoff_base * 2 ** (failures - 1))
            backoff *= random.uniform(0.9, 1.1)  # noqa: S311 - jitter
            state.update(
                status="failing", message=run.message, failures=failures, next_after=wall + backoff
            )
        _log_flip(spec.id, account.id, previous, state["status"], outcome)
        record = run.to_json()
        if self.box.locked:
            self._pending.setdefault(account.id, []).append(record)
            return
        async with self._state_lock:
            await self.store.add_run(state, record)
            await self.store.put_state(state)

    async def _flush_pending(self) -> None:
        """Write what locked-time runs recorded, now that the box can encrypt it."""
        for account_id, records in list(self._pending.items()):
            stored = await self.store.state(account_id)
            state = self._states.get(account_id) or stored
            # the locked-time state began empty (nothing was readable): the runs recorded
            # before the box was locked stay listed
            earlier = [r for r in stored.get("runs", []) if r not in state.get("runs", [])]
            state["runs"] = earlier + list(state.get("runs", []))
            try:
                await self.store.get(account_id)
            except NotFound:
                self._pending.pop(account_id, None)
                continue
            for record in records:
                await self.store.add_run(state, record)
            await self.store.put_state(state)
            self._pending.pop(account_id, None)  # only now: readers find it either way

    def _describe(self, account: Account) -> dict[str, Any]:
        state = self._states.get(account.id) or _new_state(account.id)
        spec = self._registry.specs.get(account.connector) if self._registry else None
        running = self._running.get(account.id)
        due = self._due.get(account.id)
        next_run = None
        if due is not None and self.clock.trusted():
            next_run = dt.datetime.fromtimestamp(self.clock.wall_of(due), dt.UTC).isoformat(
                timespec="seconds"
            )
        return {
            **account.public(),
            "name": spec.manifest.name if spec else account.connector,
            "installed": spec is not None,
            "schedule": account.schedule or (spec.manifest.schedule if spec else None),
            "status": "running" if running else state.get("status", "new"),
            "needs_action": state.get("status") == "needs_action",
            "message": state.get("message", ""),
            "url": state.get("url"),
            "failures": state.get("failures", 0),
            "last_run": state.get("last_run"),
            "last_success": state.get("last_success"),
            "next_run": next_run,
            "run": running.to_json(log=False) if running else None,
        }

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._side.add(task)
        task.add_done_callback(self._side.discard)
        task.add_done_callback(_log_failure)


def _env_list(name: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in os.environ.get(name, "").split(",") if p.strip())


def _new_state(account_id: str) -> dict[str, Any]:
    return {"_id": account_id, "status": "new", "state": {}, "failures": 0, "runs": []}


def _check_schedule(schedule: Any) -> str | None:
    if schedule is None or schedule == "":
        return None
    if not isinstance(schedule, str):
        raise InputError("schedule: a text such as 'every 6h'")
    return parse_schedule(schedule).text


def _last_wall(state: Mapping[str, Any]) -> float | None:
    last = state.get("last_run") or {}
    if not isinstance(last, dict) or last.get("clock_trusted") is False:
        return None
    if isinstance(last.get("wall"), int | float):
        return float(last["wall"])
    started = last.get("started_at")
    if not started:
        return None
    try:
        return dt.datetime.fromisoformat(started).timestamp()
    except ValueError:
        return None


def _daily_remaining(spec: ConnectorSpec, state: Mapping[str, Any]) -> int | None:
    daily = spec.manifest.rate_limit.daily
    if daily is None:
        return None
    today = dt.datetime.now(dt.UTC).date().isoformat()
    used = int(state.get("http_count", 0)) if state.get("http_day") == today else 0
    return max(0, daily - used)


def _log_flip(connector: str, account_id: str, before: str, after: str, outcome: str) -> None:
    if before == after:
        return
    who = f"connector {connector} (account {account_id[:8]})"
    if after == "failing":
        log.warning("%s is failing (%s): backing off", who, outcome)
    elif after == "needs_action":
        log.warning("%s needs the owner's action (%s): automatic runs stopped", who, outcome)
    elif after == "waiting":
        log.info("%s was rate limited: waiting", who)
    elif after == "ok" and before in ("failing", "needs_action", "waiting"):
        log.info("%s recovered", who)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a scheduler task failed: %s", type(task.exception()).__name__)
