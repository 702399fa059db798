"""Downsampling decoded series chunks: one value per bucket, of one aggregate only.

Chunks come in day order and hold sorted timestamps, so buckets come out in order too:
a bucket that spans chunks (a step over a day, or one that does not divide it) can
only continue the last bucket written, and is merged into it. No dictionary, no sort,
and no object per point or per bucket: the answer is two arrays.

Only what ``agg`` needs is computed (the sum for ``sum``, the sum and the count for
``avg``, …): computing all six aggregates of every bucket took four times as long.
"""

from __future__ import annotations

import operator
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Literal

__all__ = ["AGGREGATES", "Aggregate", "Columns", "downsample"]

AGGREGATES = ("avg", "sum", "min", "max", "count", "first", "last")
Aggregate = Literal["avg", "sum", "min", "max", "count", "first", "last"]
#: Timestamps (int64 seconds) and values (float64), in timestamp order.
Columns = tuple["array[int]", "array[float]"]

_Reduce = Callable[["array[float]", int, int], float]
_Merge = Callable[[float, float], float]

#: agg -> (the value of values[i:j], how two parts of one bucket combine). ``avg`` is
#: summed here and divided by the counts at the end.
_AGGREGATORS: dict[str, tuple[_Reduce, _Merge]] = {
    "avg": (lambda v, i, j: sum(v[i:j]), operator.add),
    "sum": (lambda v, i, j: sum(v[i:j]), operator.add),
    "min": (lambda v, i, j: min(v[i:j]), min),
    "max": (lambda v, i, j: max(v[i:j]), max),
    "count": (lambda _v, i, j: float(j - i), operator.add),
    "first": (lambda v, i, _j: v[i], lambda old, _new: old),
    "last": (lambda v, _i, j: v[j - 1], lambda _old, new: new),
}


def downsample(
    chunks: Iterable[Columns], start: int, end: int, step: int, agg: Aggregate
) -> Columns:
    """One ``(bucket start, agg of its values)`` per non-empty epoch-aligned bucket of
    ``step`` seconds, over the points with ``start <= ts < end``."""
    reduce, merge = _AGGREGATORS[agg]
    buckets: array[int] = array("q")
    values: array[float] = array("d")
    counts: array[int] = array("q")  # per bucket, for avg only
    average = agg == "avg"
    for stamps, readings in chunks:
        i, hi = bisect_left(stamps, start), bisect_left(stamps, end)
        while i < hi:
            first = stamps[i]
            bucket = first - first % step
            j = bisect_left(stamps, bucket + step, i, hi)
            value = reduce(readings, i, j)
            if buckets and buckets[-1] == bucket:  # the bucket began in the previous chunk
                values[-1] = merge(values[-1], value)
                if average:
                    counts[-1] += j - i
            else:
                buckets.append(bucket)
                values.append(value)
                if average:
                    counts.append(j - i)
            i = j
    if average:
        values = array("d", map(operator.truediv, values, counts))
    return buckets, values
