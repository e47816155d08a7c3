"""``nnstudio bench analysis``: one JSON object with both ways of counting and the counts' cost."""

from __future__ import annotations

from app.cli.bench_analysis import bench_analysis


def test_bench_reports_both_ways():
    result = bench_analysis(depth=3, big=64, small=32, batch=2)
    assert result["params"] == 3 * (64 * 64 + 64)
    assert result["forward_params"] == 3 * (32 * 32 + 32)
    assert result["total_flops"] == 3 * 2 * 2 * 64 * 64
    assert result["counts_ratio"] > 0 and result["analysis_without_counts_s"] > 0
    assert set(result) == {
        "params",
        "total_flops",
        "activation_bytes",
        "analysis_s",
        "analysis_peak_mb",
        "analysis_with_counts_s",
        "analysis_without_counts_s",
        "counts_ratio",
        "counts_ratio_best",
        "forward_params",
        "forward_s",
        "forward_peak_mb",
    }
