"""Differential privacy for one household's values: clip, add Laplace noise, round.

Each value is clipped to ``[0, sensitivity]`` (one household changes a sum by at most
that much), then gets Laplace noise of scale ``sensitivity / epsilon``: the value alone
satisfies ε-differential privacy, whatever the collector knows. Rounding afterwards (to
``rounding`` kWh) is post-processing: it costs no privacy and blurs the least
significant bits of the floating-point noise (Mironov, 2012). Negative results are kept:
clamping them would bias the averages the collector computes.

Randomness comes from :mod:`secrets` (the OS's CSPRNG), never :mod:`random`.
"""

from __future__ import annotations

import math
import secrets

__all__ = ["ROUNDING_KWH", "laplace", "privatize"]

ROUNDING_KWH = 10
_BITS = 53


def laplace(scale: float) -> float:
    """A sample of Laplace(0, scale), by inverting its CDF at a uniform point in (0, 1)."""
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError("the Laplace scale must be positive")
    u = (secrets.randbits(_BITS) + 0.5) / 2**_BITS  # never 0 nor 1: log() stays finite
    if u < 0.5:
        return scale * math.log(2 * u)
    return -scale * math.log(2 * (1 - u))


def privatize(
    value: float, *, epsilon: float, sensitivity: float, rounding: int = ROUNDING_KWH
) -> int:
    """``value`` made ε-differentially private (see the module's docstring)."""
    if not (
        math.isfinite(epsilon) and epsilon > 0 and math.isfinite(sensitivity) and sensitivity > 0
    ):
        raise ValueError("epsilon and sensitivity must be positive")
    clipped = min(max(float(value), 0.0), float(sensitivity))
    noisy = clipped + laplace(sensitivity / epsilon)
    return round(noisy / rounding) * rounding
