"""What the API returns: shapes, dtypes, history rows and columns."""

from __future__ import annotations

import numpy as np
import pytest

import sdflow
from conftest import SCENES


def test_clouds_are_float32_copies(small_clouds):
    target, source = small_clouds
    sim = sdflow.Simulation(target=target, source=source, steps=5)
    for cloud, n in ((sim.points, 80), (sim.source, 80), (sim.target, 120), (sim.fixed, 120)):
        assert cloud.shape == (n, 2) and cloud.dtype == np.float32
    assert np.array_equal(sim.source, source.astype(np.float32))
    copy = sim.points
    copy[:] = 0
    assert not np.array_equal(sim.points, copy), "points is a copy"


def test_reverse_moves_the_target(small_clouds):
    target, source = small_clouds
    sim = sdflow.Simulation(target=target, source=source, steps=5, direction="Reverse")
    assert sim.points.shape == (120, 2)
    assert np.array_equal(sim.fixed, sim.source)


def test_history_rows_start_at_zero_then_every_k_and_the_last(small_clouds):
    target, source = small_clouds
    sim = sdflow.Simulation(target=target, source=source, steps=23)
    h = sim.run(metrics_every=10)
    assert h["step"].tolist() == [0, 10, 20, 23]
    expected = ["step", "sigma2", "kernel_sigma2", "eta", "path", "ms", *sdflow.METRIC_NAMES, *sdflow.DIVERGENCE_NAMES]
    assert sorted(h) == sorted(expected)
    for name, column in h.items():
        assert column.shape == (4,), name
    assert h["step"].dtype == np.int64 and h["cfd"].dtype == np.float64
    assert h["path"].tolist() == ["", "full", "full", "full"]
    assert np.isnan(h["ms"][0]) and np.isnan(h["eta"][0])  # Auto eta is set by the first step
    # Cosine schedule from 4 to 0.5: the first row is at sigma2_max.
    assert h["sigma2"][0] == 4.0 and h["sigma2"][-1] == pytest.approx(0.5)
    assert h["cfd"][-1] < h["cfd"][0]


def test_run_takes_a_number_of_steps_and_resumes(small_clouds):
    target, source = small_clouds
    sim = sdflow.Simulation(target=target, source=source, steps=30)
    first = sim.run(steps=12, metrics_every=5)
    assert first["step"].tolist() == [0, 5, 10, 12] and sim.step_index == 12
    rest = sim.run(metrics_every=5)
    assert rest["step"].tolist() == [12, 15, 20, 25, 30] and sim.finished
    assert rest["cfd"][0] == first["cfd"][-1]
    assert sim.run()["step"].tolist() == [30], "a finished run records its state only"


def test_record_every_adds_the_frames(small_clouds):
    target, source = small_clouds
    sim = sdflow.Simulation(target=target, source=source, steps=10)
    h = sim.run(metrics_every=5, record_every=4)
    assert h["points"].shape == (4, 80, 2) and h["points"].dtype == np.float32
    assert h["points_step"].tolist() == [0, 4, 8, 10]
    assert np.array_equal(h["points"][0], sim.source)
    assert np.array_equal(h["points"][-1], sim.points)


def test_gan_columns_appear_where_they_apply():
    sim = sdflow.Simulation.from_scene(SCENES / "grid25.ron", steps=4)
    assert "modes_covered" in sim.run(metrics_every=2)


def test_trainer_shapes():
    trainer = sdflow.Trainer.from_scene(SCENES / "fig6_linear50.ron", steps=6)
    assert trainer.target.shape == (10000, 50) and trainer.batch == 1024
    h = trainer.run(metrics_every=3, samples=200)
    assert h["step"].tolist() == [0, 3, 6]
    assert {"loss", "mu_rel_error", "cov_rel_error", "cfd"} <= set(h)
    assert np.isnan(h["loss"][0]) and h["mu_rel_error"][-1] < h["mu_rel_error"][0]
    params = trainer.params()
    assert params["kind"] == "Linear"
    assert params["matrix"].shape == (50, 25) and params["offset"].shape == (50,)
    samples = trainer.sample(1000)
    assert samples.shape == (1000, 50) and samples.dtype == np.float32
    assert np.array_equal(samples, trainer.sample(1000)), "fixed latent inputs"
    mu, cov = trainer.linear_errors()
    assert mu == h["mu_rel_error"][-1] and cov == h["cov_rel_error"][-1]


def test_a_trainer_from_an_array_learns_the_mean(rng):
    target = rng.normal(size=(400, 2)) * 0.5 + [2.0, -1.0]
    trainer = sdflow.Trainer(
        target=target,
        model={"Linear": {"latent": 2, "learning_rate": 0.01}},
        schedule=("constant", 1.0),
        steps=150,
        step_size=("fixed", 1.0),
        batch=200,
    )
    trainer.run(metrics_every=150)
    offset = trainer.params()["offset"]
    assert np.abs(offset - [2.0, -1.0]).max() < 0.2
