"""Passes over memory-mapped files leave at most one block resident (issue 26: 5.2 GB peak at 10^5 atoms).

The frame cache's and the graph store's checksums, the trajectory fingerprint and every ``iter_chunks``
stream used to leave the whole mapped file in the process's resident set. Measured here with the
kernel's own counter of this process's file-backed resident pages (``RssFile``).
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from gdynet.files.pages import blocks, crc32_blocks, release
from gdynet.graphs.store import checksums
from gdynet.trajectory.core import Trajectory

MB = 2 ** 20
pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")


def rss_file_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1]) / 1024
    pytest.skip("kernel without RssFile")


@pytest.fixture
def mapped(tmp_path):
    """A 64 MB float64 (F, N, 3) array on disk, memory-mapped read-only."""
    path = tmp_path / "positions.npy"
    np.save(path, np.random.default_rng(0).random((64, 43_690, 3)))
    return np.load(path, mmap_mode="r")


def test_a_full_pass_without_release_is_resident(mapped):
    """The control: reading the whole map keeps it resident (so the tests below measure something)."""
    before = rss_file_mb()
    [float(block.sum()) for _, block in ((s, mapped[s:s + 8]) for s in range(0, len(mapped), 8))]
    assert rss_file_mb() - before > 40
    release(mapped)
    assert rss_file_mb() - before < 8


def test_checksum_passes_keep_one_block_resident(mapped):
    before = rss_file_mb()
    crcs = crc32_blocks(mapped, 8)
    assert rss_file_mb() - before < 16
    assert crcs == checksums({"x": mapped}, 8)["x"]          # the graph store's checksums, same values
    assert len(crcs) == 8 and crc32_blocks(mapped[:0], 8) == [0]


def test_trajectory_streams_keep_one_block_resident(mapped):
    traj = Trajectory(positions=mapped, cells=np.repeat(np.eye(3)[None] * 100.0, len(mapped), axis=0),
                      numbers=np.full(mapped.shape[1], 3), dt_ps=0.1, targets=np.arange(4)[:, None])
    before = rss_file_mb()
    total = sum(float(block[:, 0, 0].sum()) for _, block, _ in traj.iter_chunks(8))
    traj.fingerprint()
    assert rss_file_mb() - before < 16
    assert total == pytest.approx(float(np.asarray(mapped[:, 0, 0]).sum()))
    assert [start for start, _ in blocks(mapped, 24)] == [0, 24, 48]


def test_stage_check_flags_growth_over_20_percent():
    """benchmarks/bench_memory.py --stages --check fails on a stage that grew by more than 20 %."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_memory.py"
    spec = importlib.util.spec_from_file_location("bench_memory", path)
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_memory"] = bench
    spec.loader.exec_module(bench)
    baseline = {"graphs": 1000.0, "training": 1000.0}
    assert bench.compare({"graphs": 1190.0, "training": 900.0}, baseline) == []
    grown = bench.compare({"graphs": 1250.0, "training": 900.0}, baseline)
    assert len(grown) == 1 and grown[0].startswith("graphs: 1250 MB")
