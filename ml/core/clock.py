"""Time and memory of each pipeline stage, as the run goes.

``enrich run`` wraps every stage in :meth:`StageClock.stage`; the clock logs
each stage's wall time and peak resident memory of this process (the
PostgreSQL server is a separate process and is not counted), and the record
goes into the run's JSON and report. A sampler thread reads the resident size
every ``interval`` seconds, so a stage's peak is the largest sample taken
while it ran (and at its start and end).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import resource
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def release_memory() -> None:
    """Hand freed memory back to the system, so the next stage's peak is its own.

    Without it, the heap an earlier stage freed still counts as resident and
    every later stage would show the largest stage's peak.
    """
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL(None).malloc_trim(0)


def resident_bytes() -> int:
    """This process's resident memory now (Linux), else its peak so far."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE_BYTES
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass
class Stage:
    """One finished (or failed) stage of a run."""

    name: str
    started_at: str
    seconds: float = 0.0
    peak_rss_bytes: int = 0
    items: int | None = None  # what the stage processed, for throughput
    unit: str | None = None  # ... and what those items are
    status: str = "running"

    @property
    def per_second(self) -> float | None:
        """Items per second, when the stage counted its items."""
        if self.items is None or self.seconds <= 0:
            return None
        return self.items / self.seconds


@dataclass
class StageClock:
    """Times named stages; a sampler thread tracks the peak memory of each."""

    interval: float = 0.05
    stages: list[Stage] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    _peak: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[Stage]:
        """Time one stage; set ``items``/``unit`` on the yielded record.

        A stage that raises is recorded as ``failed`` and the error goes on.
        """
        record = Stage(name=name, started_at=dt.datetime.now(dt.UTC).isoformat())
        self.stages.append(record)
        release_memory()
        with self._lock:
            self._peak = resident_bytes()
        stop = threading.Event()
        sampler = threading.Thread(
            target=self._sample, args=(stop,), name="enrich-rss", daemon=True
        )
        sampler.start()
        began = time.perf_counter()
        try:
            yield record
            record.status = "success"
        except BaseException:
            record.status = "failed"
            raise
        finally:
            record.seconds = time.perf_counter() - began
            stop.set()
            sampler.join()
            with self._lock:
                record.peak_rss_bytes = max(self._peak, resident_bytes())
            throughput = (
                f", {record.per_second:,.0f} {record.unit}/s"
                if record.per_second is not None
                else ""
            )
            logger.info(
                "%s: %s in %.1f s (peak %s MiB%s)",
                name,
                record.status,
                record.seconds,
                f"{record.peak_rss_bytes / 2**20:,.0f}",
                throughput,
            )

    def _sample(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            now = resident_bytes()
            with self._lock:
                self._peak = max(self._peak, now)

    def elapsed(self) -> float:
        """Seconds since the clock was made (the process's run so far)."""
        return time.perf_counter() - self.started

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: every stage, their sum, and the time outside them."""
        in_stages = sum(stage.seconds for stage in self.stages)
        elapsed = self.elapsed()
        return {
            "stages": [
                {**asdict(stage), "per_second": stage.per_second}
                for stage in self.stages
            ],
            "seconds_in_stages": in_stages,
            "seconds_total": elapsed,
            "seconds_outside_stages": max(0.0, elapsed - in_stages),
        }
