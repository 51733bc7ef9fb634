"""`Simulation.from_scene(p).run()` ends with exactly the points that
`sdflow run p --points out.csv` writes, on any thread count."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

import sdflow
from conftest import SCENES


def cli_points(cli, scene, tmp_path, *args):
    out = tmp_path / "points.csv"
    subprocess.run(
        [str(cli), "run", str(scene), "--points", str(out), "--quiet", *args], check=True, capture_output=True
    )
    return out


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


@pytest.mark.parametrize(
    "preset, seed, steps, threads",
    [
        ("mystery_offset.ron", None, None, 1),
        ("swiss_to_mystery.ron", None, 120, None),
        ("mystery_offset_batch.ron", 11, 300, 3),
    ],
)
def test_final_points_match_the_cli_bit_for_bit(cli, tmp_path, preset, seed, steps, threads):
    args = ["--threads", "2"]
    if seed is not None:
        args += ["--seed", str(seed)]
    if steps is not None:
        args += ["--steps", str(steps)]
    out = cli_points(cli, SCENES / preset, tmp_path, *args)

    sim = sdflow.Simulation.from_scene(SCENES / preset, seed, steps=steps, threads=threads)
    history = sim.run(metrics_every=50)
    assert sim.finished and history["step"][-1] == sim.steps

    # The CLI's file, read by the scene reader (an exact f32 parse).
    theirs = sdflow.read_points(out)
    assert theirs.shape == sim.points.shape
    assert np.array_equal(bits(theirs), bits(sim.points))
    # And read independently: shortest round-trip decimals, parsed as f64
    # and rounded once to f32.
    text = out.read_text().splitlines()
    assert text[0] == ",".join(f"x{k}" for k in range(sim.points.shape[1]))
    parsed = np.loadtxt(out, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    assert np.array_equal(bits(parsed.astype(np.float32)), bits(sim.points))


def test_trained_samples_match_the_cli(cli, tmp_path):
    scene = SCENES / "fig6_linear50.ron"
    out = cli_points(cli, scene, tmp_path, "--steps", "15", "--samples", "300")
    trainer = sdflow.Trainer.from_scene(scene, steps=15)
    trainer.run(metrics_every=15, samples=300)
    assert np.array_equal(bits(sdflow.read_points(out)), bits(trainer.sample(300)))


def test_the_metric_columns_are_the_clis(cli, tmp_path):
    scene = SCENES / "two_moons_from_ring.ron"
    metrics = tmp_path / "metrics.csv"
    subprocess.run(
        [str(cli), "run", str(scene), "--steps", "40", "--metrics", str(metrics), "--metrics-every", "10", "--quiet"],
        check=True,
        capture_output=True,
    )
    header = metrics.read_text().splitlines()[0].split(",")
    rows = np.genfromtxt(metrics, delimiter=",", names=True, dtype=None, encoding="utf-8")
    history = sdflow.Simulation.from_scene(scene, steps=40).run(metrics_every=10)
    assert set(history) == set(header)
    # Both start with the step-0 row (the state before any step); every row
    # is the same evaluation.
    assert history["step"][0] == 0
    assert list(history["step"]) == list(rows["step"])
    for name in header:
        if name in ("path", "ms"):
            continue
        # The CLI leaves the per-step columns empty on the step-0 row (no step was taken).
        first = 1 if name in ("kernel_sigma2", "eta") else 0
        np.testing.assert_array_equal(history[name][first:], rows[name][first:], err_msg=name)
