"""Seeded runs are deterministic; the seed override picks another run."""

from __future__ import annotations

import numpy as np

import sdflow
from conftest import SCENES


def test_the_same_seed_gives_the_same_points_twice(small_clouds):
    target, source = small_clouds
    runs = []
    for threads in (1, 2):
        sim = sdflow.Simulation(target=target, source=source, steps=60, seed=4, threads=threads)
        sim.run(metrics_every=30)
        runs.append(sim.points)
    assert np.array_equal(runs[0], runs[1])


def test_another_seed_gives_other_points(small_clouds):
    target, source = small_clouds
    a = sdflow.Simulation(target=target, source=source, steps=20, seed=1)
    b = sdflow.Simulation(target=target, source=source, steps=20, seed=2)
    a.run()
    b.run()
    assert not np.array_equal(a.points, b.points)


def test_from_scene_uses_the_scene_seed_unless_overridden():
    scene = SCENES / "two_moons_from_ring.ron"
    default = sdflow.Simulation.from_scene(scene, steps=10)
    same = sdflow.Simulation.from_scene(scene, 3, steps=10)  # the scene's seed is 3
    other = sdflow.Simulation.from_scene(scene, 4, steps=10)
    assert (default.seed, same.seed, other.seed) == (3, 3, 4)
    assert np.array_equal(default.source, same.source)
    assert not np.array_equal(default.source, other.source)
    for sim in (default, same, other):
        sim.run()
    assert np.array_equal(default.points, same.points)
    assert not np.array_equal(default.points, other.points)
    assert "seed: 4," in other.scene_ron()
    assert "steps: 10," in other.scene_ron()


def test_stepping_by_hand_and_running_agree(small_clouds):
    target, source = small_clouds
    a = sdflow.Simulation(target=target, source=source, steps=25)
    b = sdflow.Simulation(target=target, source=source, steps=25)
    for _ in range(25):
        assert a.step() is None
    a.step()  # past the end: nothing happens
    b.run(steps=10)
    b.run()
    assert a.step_index == b.step_index == 25
    assert np.array_equal(a.points, b.points)


def test_reset_replays_the_run(small_clouds):
    target, source = small_clouds
    sim = sdflow.Simulation(target=target, source=source, steps=15)
    sim.run()
    first = sim.points
    sim.reset()
    assert sim.step_index == 0
    assert np.array_equal(sim.points, sim.source)
    sim.run()
    assert np.array_equal(sim.points, first)


def test_a_keyword_scene_equals_its_scene_file(tmp_path, small_clouds):
    """The keyword path builds the same scene a file would."""
    target, source = small_clouds
    sdflow.write_points(tmp_path / "target.csv", target.astype(np.float32))
    sdflow.write_points(tmp_path / "source.csv", source.astype(np.float32))
    sim = sdflow.Simulation(target=target, source=source, steps=30, seed=8, schedule=("linear", 2.0, 0.1))
    (tmp_path / "scene.ron").write_text(sim.scene_ron())
    again = sdflow.Simulation.from_scene(tmp_path / "scene.ron")
    sim.run()
    again.run()
    assert np.array_equal(sim.points, again.points)
