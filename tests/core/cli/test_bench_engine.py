import pytest

from app.cli.bench_engine import bench_engine


def test_bench_engine_reports_both_models_with_their_ratios():
    report = bench_engine(steps=3, rounds=2)
    assert [m["name"] for m in report["models"]] == ["mlp", "cnn"]
    assert report["rounds"] == 2 and report["batch_size"] == 64
    for model in report["models"]:
        plain, probed = model["plain_samples_per_s"], model["engine_probes_samples_per_s"]
        assert plain > 0 and model["engine_samples_per_s"] > 0 and probed > 0
        assert model["ratio_probes"] == pytest.approx(probed / plain, abs=0.002)
        assert len(model["ratio_probes_rounds"]) == 2 and all(r > 0 for r in model["ratio_probes_rounds"])
