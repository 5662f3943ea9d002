"""The stage clock: time, peak memory and status of each stage."""

from __future__ import annotations

import time

import numpy as np
import pytest

from ml.core.clock import StageClock, resident_bytes


def test_a_stage_records_its_time_throughput_and_peak_memory():
    clock = StageClock(interval=0.01)
    with clock.stage("allocate") as stage:
        before = resident_bytes()  # the stage starts by trimming the heap
        block = np.ones(300 * 2**20 // 8)  # 300 MiB, touched
        time.sleep(0.05)
        stage.items, stage.unit = 600, "rows"
        del block
    [record] = clock.stages
    assert record.status == "success"
    assert record.seconds >= 0.05
    assert record.peak_rss_bytes >= before + 250 * 2**20
    assert record.per_second == pytest.approx(600 / record.seconds)
    with clock.stage("small"):
        pass
    assert clock.stages[1].peak_rss_bytes < record.peak_rss_bytes - 200 * 2**20


def test_a_failed_stage_is_recorded_and_the_error_goes_on():
    clock = StageClock()
    with pytest.raises(ValueError, match="boom"), clock.stage("broken"):
        raise ValueError("boom")
    summary = clock.as_dict()
    assert [s["status"] for s in summary["stages"]] == ["failed"]
    assert summary["stages"][0]["per_second"] is None
    assert summary["seconds_total"] >= summary["seconds_in_stages"]
