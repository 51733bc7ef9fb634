"""`over_seeds`: final rows per seed and their summary."""

from __future__ import annotations

import numpy as np

import sdflow
from conftest import SCENES


def test_final_metrics_per_seed_and_their_summary():
    scene = SCENES / "two_moons_from_ring.ron"
    result = sdflow.over_seeds(scene, seeds=3, steps=15)
    assert result["seed"].tolist() == [0, 1, 2]
    assert result["cfd"].shape == (3,)
    for seed in (0, 2):
        h = sdflow.Simulation.from_scene(scene, seed, steps=15).run(metrics_every=15)
        assert result["cfd"][seed] == h["cfd"][-1]
    assert result["mean"]["cfd"] == np.mean(result["cfd"])
    assert result["min"]["cfd"] <= result["mean"]["cfd"] <= result["max"]["cfd"]
    assert not np.isnan(result["mean"]["cfd_heldout"])


def test_seed_lists_and_generator_scenes():
    result = sdflow.over_seeds(SCENES / "fig6_linear50.ron", seeds=[4, 9], steps=3, samples=100)
    assert result["seed"].tolist() == [4, 9]
    assert result["mu_rel_error"].shape == (2,) and result["loss"].shape == (2,)
