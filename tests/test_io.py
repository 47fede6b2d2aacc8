"""Atomic output: a failed write leaves neither a partial target nor a temporary file."""

from __future__ import annotations

import pytest

from sim.io import write_atomic, write_text_atomic


def test_write_text_atomic_replaces_target(tmp_path):
    target = tmp_path / "out" / "report.md"
    write_text_atomic(target, "first")
    write_text_atomic(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["report.md"]


def test_failed_writer_leaves_previous_content_and_no_temp(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old,complete\n")

    def crash(path):
        path.write_text("half,writ")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(target, crash)
    assert target.read_text() == "old,complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]
