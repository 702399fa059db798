"""The scheduler and the connector accounts it runs (see :mod:`.scheduler`)."""

from .accounts import Account, AccountStore
from .clock import Clock, SystemClock
from .scheduler import Scheduler, SchedulerConfig
from .triggers import Schedule, parse_schedule

__all__ = [
    "Account",
    "AccountStore",
    "Clock",
    "Schedule",
    "Scheduler",
    "SchedulerConfig",
    "SystemClock",
    "parse_schedule",
]
