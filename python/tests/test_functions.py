"""The free functions against closed forms and plain references."""

from __future__ import annotations

import numpy as np
import pytest

import sdflow


def reference_kernel_means(z, c, sigma2):
    """D(z) of eq. 15 in f64, max-shifted."""
    d2 = ((z[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    w = np.exp(-(d2 - d2.min(1, keepdims=True)) / (2 * sigma2))
    return (w @ c) / w.sum(1, keepdims=True)


def test_one_centre_is_its_own_kernel_mean(rng):
    centre = np.array([[1.5, -2.0, 0.25]])
    queries = rng.normal(size=(50, 3)) * 10
    means = sdflow.kernel_means(queries, centre, 0.7)
    assert means.shape == (50, 3) and means.dtype == np.float32
    assert np.array_equal(means, np.repeat(centre.astype(np.float32), 50, axis=0))


def test_two_symmetric_centres_meet_at_their_midpoint():
    centres = np.array([[3.0, 1.0], [-1.0, -3.0]])  # midpoint (1, -1)
    # Queries on the perpendicular bisector are equally far from both.
    queries = np.array([[1.0, -1.0], [3.0, -3.0], [-2.0, 2.0]])
    means = sdflow.kernel_means(queries, centres, 2.0)
    np.testing.assert_allclose(means, [[1.0, -1.0]] * 3, atol=1e-6)


def test_kernel_means_match_a_plain_reference(rng):
    for dim in (1, 3, 9):
        centres = rng.normal(size=(300, dim))
        queries = rng.normal(size=(70, dim)) * 1.5
        for sigma2 in (0.05, 1.0, 20.0):
            np.testing.assert_allclose(
                sdflow.kernel_means(queries, centres, sigma2),
                reference_kernel_means(queries, centres, sigma2),
                atol=2e-5 * max(1.0, np.abs(centres).max()),
                err_msg=f"dim {dim}, sigma2 {sigma2}",
            )


def test_a_far_query_gets_its_nearest_centre():
    centres = np.array([[0.0, 0.0], [1.0, 0.0]])
    means = sdflow.kernel_means(np.array([[500.0, 0.0]]), centres, 1e-3)
    assert np.array_equal(means, [[1.0, 0.0]])


def test_cfd_of_a_cloud_with_itself_is_zero(rng):
    a = rng.normal(size=(200, 3))
    assert sdflow.cfd(a, a) == 0.0
    assert sdflow.cfd(a, a + 0.5) > 0.0
    assert sdflow.cfd(a, a + 0.5) == sdflow.cfd(a + 0.5, a)


def test_cfd_of_two_point_masses_is_the_closed_form():
    """Point masses at 0 and x, one frequency w: CFD = |1 - e^{i w x}| =
    2 |sin(w x / 2)|. Whatever w the seed draws, doubling x doubles the
    angle: CFD(2x) = 2 CFD(x) sqrt(1 - CFD(x)^2 / 4)."""
    zero = np.zeros((1, 1))
    for seed in range(20):
        c1 = sdflow.cfd(zero, np.full((1, 1), 0.1), frequencies=1, seed=seed)
        c2 = sdflow.cfd(zero, np.full((1, 1), 0.2), frequencies=1, seed=seed)
        assert 0.0 < c1 <= 2.0
        assert c2 == pytest.approx(2 * c1 * np.sqrt(1 - c1 * c1 / 4), rel=1e-9)


def test_cfd_is_the_runs_cfd_with_the_runs_seed(small_clouds):
    target, source = small_clouds
    sim = sdflow.Simulation(target=target, source=source, steps=8, seed=21, cfd_frequencies=64)
    h = sim.run()
    assert sdflow.cfd(sim.fixed, sim.points, frequencies=64, seed=21) == h["cfd"][-1]


def test_divergences_of_a_cloud_with_itself(rng):
    p = rng.normal(size=(150, 2))
    d = sdflow.divergences(p, p, 0.5)
    assert list(d) == list(sdflow.DIVERGENCE_NAMES)
    for name in ("kl_qp", "kl_pq", "js", "fisher_q", "fisher_p", "energy", "sw2"):
        assert abs(d[name]) < 1e-9, name
    assert np.isnan(d["cfd_heldout"]) and np.isnan(d["kl_rate_measured"])
    shifted = sdflow.divergences(p + [2.0, 0.0], p, 0.5)
    assert shifted["kl_qp"] > 0.1 and shifted["energy"] > 0.1


def test_divergences_with_a_held_out_sample(rng):
    p, held = rng.normal(size=(150, 2)), rng.normal(size=(150, 2))
    d = sdflow.divergences(p, p, 0.5, held_out=held)
    assert d["cfd_floor"] == pytest.approx(sdflow.cfd(held, p))
    assert d["cfd_heldout"] == d["cfd_floor"]
    assert d["memorization"] == 0.0  # every point sits on a target point


def test_points_round_trip_through_csv_exactly(tmp_path, rng):
    points = (rng.normal(size=(500, 3)) * 1e3).astype(np.float32)
    points[0] = [0.1, -0.0, 1e-42]
    sdflow.write_points(tmp_path / "p.csv", points)
    back = sdflow.read_points(tmp_path / "p.csv")
    assert np.array_equal(back.view(np.uint32), points.view(np.uint32))
