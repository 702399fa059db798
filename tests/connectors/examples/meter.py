"""A local test source that needs no secret and runs while the box is locked (not shipped)."""

from __future__ import annotations

from selfdata.connectors.sdk import Context, CredentialField, Manifest

MANIFEST = Manifest(
    id="test-meter",
    name="Test meter",
    vendor="selfdata tests",
    description="Reads a pretend meter on a local port.",
    doctypes=("org.example.meter",),
    series=("meter/",),
    credentials=(CredentialField("device", "Device", kind="path", default="/dev/null"),),
    schedule="every 1m",
    runs_locked=True,
    timeout_seconds=20,
)


async def sync(ctx: Context) -> None:
    n = int(ctx.state.get("n", 0))
    await ctx.save_series("meter/power", [(1_700_000_000 + 60 * n, float(n))], "W")
    await ctx.save("org.example.meter", [{"_id": f"m{n}", "n": n}])
    ctx.state["n"] = n + 1
