"""An outage's warning is logged at most once per interval, with the failures held back."""

from __future__ import annotations

import logging

from chat.answers import outages

log = logging.getLogger("tests.outages")


def test_an_outage_warns_once_per_interval_counting_what_it_held_back(monkeypatch, caplog):
    now = [100.0]
    monkeypatch.setattr(outages.time, "monotonic", lambda: now[0])
    outage = outages.Throttled(log, every=10.0)
    with caplog.at_level(logging.WARNING, logger="tests.outages"):
        outage.warn("writing %s failed", "a")
        for _ in range(4):
            now[0] += 2.0
            outage.warn("writing %s failed", "b")
        now[0] += 2.5
        outage.warn("writing %s failed", "c")
    assert [r.getMessage() for r in caplog.records] == [
        "writing a failed (1 failures since the last warning)",
        "writing c failed (5 failures since the last warning)",
    ]
