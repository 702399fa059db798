"""The scheduler: triggers, catch-up, clock trust, backoff, concurrency, locked runs.

Runs are real child processes; time is a fake clock the tests move by hand.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from selfdata.box import Box
from selfdata.scheduler import Clock, Scheduler, SchedulerConfig, parse_schedule
from selfdata.scheduler.clock import JUMP

from ...conftest import PASSPHRASE

EXAMPLES = ("tests.connectors.examples.echo", "tests.connectors.examples.meter")
T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC).timestamp()


class FakeClock(Clock):
    def __init__(self, wall: float = T0, trusted: bool = True) -> None:
        super().__init__()
        self._wall = wall
        self._mono = 1000.0
        self.is_synced = trusted

    def wall(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def synced(self) -> bool | None:
        return self.is_synced

    def floor(self) -> float:
        return T0 - 365 * 86400

    def advance(self, seconds: float) -> None:
        self._wall += seconds
        self._mono += seconds

    def set_wall(self, wall: float) -> None:
        self._wall = wall


def config(**more: Any) -> SchedulerConfig:
    more.setdefault("extra", EXAMPLES)
    return SchedulerConfig(installed=False, http_backoff=0.01, first_run_delay=5.0, **more)


@pytest.fixture
async def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def scheduler(box: Box, clock: FakeClock) -> AsyncIterator[Scheduler]:
    s = Scheduler(box, config(), clock)
    await s.reload()
    try:
        yield s
    finally:
        await s.close()


async def add(
    s: Scheduler, behaviour: str = "slow", schedule: str = "every 1h", **creds: str
) -> str:
    account = await s.add_account(
        "test-echo",
        credentials={"behaviour": behaviour, "seconds": "0", "token": "tok3n", **creds},
        schedule=schedule,
    )
    return str(account["id"])


async def settle(s: Scheduler) -> None:
    """Run what is due now and wait for those runs to end."""
    await s._tick()
    while s._tasks:
        await asyncio.gather(*list(s._tasks.values()), return_exceptions=True)


def due_in(s: Scheduler, account_id: str) -> float | None:
    due = s._due.get(account_id)
    return None if due is None else due - s.clock.monotonic()


def test_schedules_parse_and_refuse_nonsense() -> None:
    assert parse_schedule("every 6h").interval == 6 * 3600
    assert parse_schedule("30 7 * * *; at unlock").at_unlock
    assert parse_schedule("manual").manual
    for bad in ("every 1s", "sometimes", "manual; every 1h", "61 * * * *", ""):
        with pytest.raises(Exception, match=r"schedule|interval|manual"):
            parse_schedule(bad)


async def test_a_new_account_runs_soon_then_on_its_interval(
    scheduler: Scheduler, clock: FakeClock
) -> None:
    account_id = await add(scheduler)
    assert due_in(scheduler, account_id) == pytest.approx(5.0)
    await settle(scheduler)
    assert scheduler._states[account_id].get("last_run") is None  # not yet due
    clock.advance(6)
    await settle(scheduler)
    assert scheduler._states[account_id]["last_run"]["outcome"] == "ok"
    assert 3600 <= due_in(scheduler, account_id) <= 3600 + 180  # + a 5 % jitter at most
    clock.advance(1800)
    await settle(scheduler)
    assert len(scheduler._states[account_id]["runs"]) == 1


async def test_after_downtime_it_catches_up_once(box: Box, clock: FakeClock) -> None:
    first = Scheduler(box, config(), clock)
    await first.reload()
    account_id = await add(first)
    clock.advance(6)
    await settle(first)
    await first.close()
    clock.advance(3 * 86400)  # the box was off for three days
    second = Scheduler(box, config(), clock)
    await second.reload()
    try:
        assert due_in(second, account_id) <= 180  # due now (plus its jitter), not 72 times
        clock.advance(200)
        await settle(second)
        assert len(second._states[account_id]["runs"]) == 2
        assert due_in(second, account_id) >= 3000
    finally:
        await second.close()


async def test_network_sources_wait_for_a_trusted_clock(box: Box) -> None:
    clock = FakeClock(trusted=False)
    s = Scheduler(box, config(), clock)
    await s.reload()
    try:
        account_id = await add(s)
        assert s._due[account_id] is None
        clock.is_synced = True
        await s._tick()  # notices the clock became trusted: re-plans
        assert due_in(s, account_id) == pytest.approx(5.0)
    finally:
        await s.close()


async def test_a_clock_jump_replans_cron_times(scheduler: Scheduler, clock: FakeClock) -> None:
    account_id = await add(scheduler, schedule="0 3 * * *")
    clock.advance(6)
    await settle(scheduler)  # not due: next 03:00
    before = due_in(scheduler, account_id)
    assert before is not None
    assert before > 3600
    clock.set_wall(clock.wall() + 10 * 3600)  # the wall clock jumps ahead, monotonic does not
    await scheduler._tick()
    after = due_in(scheduler, account_id)
    assert after is not None
    assert abs((before - after) - 10 * 3600) < 700
    assert JUMP < 10 * 3600


async def test_failures_back_off_and_the_journal_hears_once(
    scheduler: Scheduler, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "selfdata.scheduler")
    account_id = await add(scheduler, behaviour="down")
    waits = []
    for _ in range(3):
        await scheduler.run_now(account_id)
        await settle(scheduler)
        waits.append(due_in(scheduler, account_id))
    state = scheduler._states[account_id]
    assert state["status"] == "failing"
    assert state["failures"] == 3
    assert waits[0] == pytest.approx(300, rel=0.15)
    assert waits[2] == pytest.approx(1200, rel=0.15)
    failing = [r for r in caplog.records if "is failing" in r.getMessage()]
    assert len(failing) == 1  # a flip, not every run
    assert "tok3n" not in caplog.text
    await scheduler.update_account(account_id, {"credentials": {"behaviour": "slow"}})
    await scheduler.run_now(account_id)
    await settle(scheduler)
    assert scheduler._states[account_id]["status"] == "ok"
    assert len([r for r in caplog.records if "recovered" in r.getMessage()]) == 0  # edited: "new"
    await scheduler.update_account(account_id, {"credentials": {"behaviour": "down"}})
    await scheduler.run_now(account_id)
    await settle(scheduler)
    await scheduler.update_account(
        account_id, {"schedule": "every 2h"}
    )  # no credentials: still failing
    await scheduler.update_account(account_id, {"credentials": {"behaviour": "slow"}})
    assert scheduler._states[account_id]["status"] == "new"


async def test_rate_limited_waits_as_long_as_the_service_said(scheduler: Scheduler) -> None:
    account_id = await add(scheduler, behaviour="ratelimit")
    await scheduler.run_now(account_id)
    await settle(scheduler)
    assert scheduler._states[account_id]["status"] == "waiting"
    assert due_in(scheduler, account_id) == pytest.approx(120, abs=1)


async def test_auth_failed_stops_automatic_runs_but_not_manual_ones(scheduler: Scheduler) -> None:
    account_id = await add(scheduler, behaviour="auth")
    await scheduler.run_now(account_id)
    await settle(scheduler)
    assert scheduler._states[account_id]["status"] == "needs_action"
    assert scheduler._due[account_id] is None
    run = await scheduler.run_now(account_id)  # the owner presses "run now"
    assert run["status"] in ("queued", "running")
    await settle(scheduler)


async def test_at_most_n_runs_at_once(box: Box, clock: FakeClock) -> None:
    s = Scheduler(box, config(max_concurrent=1), clock)
    await s.reload()
    try:
        a = await add(s, seconds="1")
        b = await add(s, seconds="1")
        await s.update_account(a, {"credentials": {"seconds": "1"}})
        first = await s.run_now(a)
        second = await s.run_now(b)
        await asyncio.sleep(0.3)
        statuses = sorted(r.status for r in s._running.values())
        assert statuses == ["queued", "running"]
        await settle(s)
        records = [await s.run_record(first["id"]), await s.run_record(second["id"])]
        assert [r["outcome"] for r in records] == ["ok", "ok"]
    finally:
        await s.close()


async def test_a_locked_box_keeps_running_local_sources_through_the_inbox(
    box: Box, clock: FakeClock
) -> None:
    s = Scheduler(box, config(), clock)
    await s.reload()
    account = await s.add_account("test-meter", credentials={})
    await add(s)  # a source with a secret
    await s.close()
    # a reboot: the box comes back locked
    box.lock()
    rebooted = Scheduler(box, config(), clock)
    await rebooted.reload()
    try:
        assert list(rebooted._accounts) == [account["id"]]  # only the locked-time source
        clock.advance(120)
        await settle(rebooted)
        assert await box.inbox.pending() == 2  # one batch of points, one of documents
        assert rebooted._pending[account["id"]][0]["outcome"] == "ok"
        await box.unlock(PASSPHRASE)
        await rebooted._after_box_change()
        assert await box.documents.count("org.example.meter") == 1
        assert (await box.series.query("meter/power", 0, 2**40))[0][1] == 0.0
        runs = await rebooted.runs(account["id"])
        assert [r["outcome"] for r in runs] == ["ok"]
        assert len(rebooted._accounts) == 2
    finally:
        await rebooted.close()


async def test_probe_without_account(scheduler: Scheduler) -> None:
    result = await scheduler.probe("test-echo", {"device": "/dev/null"})
    assert result["outcome"] == "ok"
    assert result["result"]["echo"] == {"device": "/dev/null"}


async def test_ctx_now_refuses_an_untrusted_clock_until_time_sync(box: Box) -> None:
    clock = FakeClock(trusted=False)
    s = Scheduler(box, config(extra=(*EXAMPLES, "tests.connectors.examples.clocked")), clock)
    await s.reload()
    try:
        account = await s.add_account("test-clocked", credentials={})
        account_id = str(account["id"])
        assert due_in(s, account_id) == pytest.approx(5.0)  # local: it runs before time sync
        clock.advance(6)
        await settle(s)
        state = s._states[account_id]
        assert state["last_run"]["outcome"] == "service_down"
        assert state["last_run"]["clock_trusted"] is False
        assert "clock is not synchronised" in state["message"]
        assert "clocked/power" not in {i.name for i in await box.series.list()}  # nothing misdated
        clock.is_synced = True  # time sync
        await s._tick()
        assert due_in(s, account_id) <= 60 + 3  # its schedule, not the failure's backoff
        clock.advance(70)
        await settle(s)
        assert s._states[account_id]["last_run"]["outcome"] == "ok"
        ((ts, value),) = await box.series.query("clocked/power", 0, 2**40)
        assert value == 42.0
        assert abs(ts - dt.datetime.now(dt.UTC).timestamp()) < 60
    finally:
        await s.close()


async def test_at_unlock_runs_each_time_the_box_is_unlocked(
    box: Box, scheduler: Scheduler, clock: FakeClock
) -> None:
    account_id = await add(scheduler, schedule="every 7d; at unlock")
    await settle(scheduler)
    assert scheduler._states[account_id].get("last_run") is None  # not due by itself yet
    box.lock()
    await scheduler._after_box_change()
    await box.unlock(PASSPHRASE)
    await scheduler._after_box_change()  # what the daemon's state listener calls
    await settle(scheduler)
    runs = scheduler._states[account_id]["runs"]
    assert len(runs) == 1
    assert scheduler._states[account_id]["last_run"]["trigger"] == "unlock"


async def test_after_downtime_a_cron_source_catches_up_once(box: Box, clock: FakeClock) -> None:
    first = Scheduler(box, config(), clock)
    await first.reload()
    account_id = await add(first, schedule="0 3 * * *")
    await first.run_now(account_id)
    await settle(first)
    await first.close()
    clock.advance(4 * 86400)  # off for four days: four 03:00 runs missed
    second = Scheduler(box, config(), clock)
    await second.reload()
    try:
        await second._tick()  # the daemon's first tick, as it starts
        assert due_in(second, account_id) <= 600  # one catch-up run now (plus its jitter)
        clock.advance(700)
        await settle(second)
        assert len(second._states[account_id]["runs"]) == 2
        nxt = due_in(second, account_id)
        assert nxt is not None
        assert nxt > 3600  # then back to 03:00, not three more catch-ups
    finally:
        await second.close()


async def test_a_source_that_comes_back_is_logged_recovered_once(
    box: Box, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "selfdata.scheduler")
    answers = [web.Response(status=503)] * 3 + [web.json_response([])] * 3

    async def readings(request: web.Request) -> web.StreamResponse:
        return answers.pop(0)

    app = web.Application()
    app.router.add_get("/readings", readings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    s = Scheduler(box, config(), clock)
    await s.reload()
    try:
        account = await s.add_account(
            "test-echo",
            credentials={"behaviour": "ok", "token": "tok3n"},
            base_urls={"api": f"http://127.0.0.1:{port}/"},
        )
        account_id = str(account["id"])
        for _ in range(3):  # the service is down, then back: same credentials throughout
            await s.run_now(account_id)
            await settle(s)
        assert s._states[account_id]["status"] == "ok"
        messages = [r.getMessage() for r in caplog.records]
        assert len([m for m in messages if "is failing" in m]) == 1
        assert len([m for m in messages if "recovered" in m]) == 1
        assert account_id[:8] in next(m for m in messages if "recovered" in m)
    finally:
        await s.close()
        await runner.cleanup()
