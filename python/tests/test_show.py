"""`show` writes a folder the app can open, and starts $SDFLOW_BIN on it.
A stand-in binary records its arguments; no window opens."""

from __future__ import annotations

import os
import stat
import sys

import numpy as np
import pytest

import sdflow


@pytest.fixture
def fake_app(tmp_path, monkeypatch):
    log = tmp_path / "argv.txt"
    script = tmp_path / "fake-sdflow"
    script.write_text(f"#!{sys.executable}\nimport sys\nopen({str(log)!r}, 'w').write('\\n'.join(sys.argv[1:]))\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("SDFLOW_BIN", str(script))
    return log


def test_show_writes_the_run_and_opens_it(fake_app, tmp_path, small_clouds):
    target, source = small_clouds
    sim = sdflow.Simulation(target=target, source=source, steps=20, seed=6, schedule=("geometric", 3.0, 0.2))
    sim.run(steps=7)
    folder = sdflow.show(sim, tmp_path / "shown", wait=True)
    assert folder == tmp_path / "shown"
    assert sorted(os.listdir(folder)) == ["points.csv", "scene.ron", "source.csv", "target.csv"]
    assert fake_app.read_text() == str(folder / "scene.ron")
    assert np.array_equal(sdflow.read_points(folder / "points.csv"), sim.points)
    assert np.array_equal(sdflow.read_points(folder / "target.csv"), sim.target)
    # The written scene replays the same run, bit for bit.
    replay = sdflow.Simulation.from_scene(folder / "scene.ron")
    assert (replay.seed, replay.steps) == (6, 20)
    replay.run(steps=7)
    assert np.array_equal(replay.points, sim.points)


def test_show_of_a_preset_replays_it(fake_app, tmp_path):
    from conftest import SCENES

    sim = sdflow.Simulation.from_scene(SCENES / "two_moons_from_ring.ron", 5, steps=12)
    folder = sdflow.show(sim, wait=True)
    assert folder.is_dir() and (folder / "scene.ron").is_file()
    replay = sdflow.Simulation.from_scene(folder / "scene.ron")
    sim.run()
    replay.run()
    assert replay.name == sim.name and np.array_equal(replay.points, sim.points)


def test_a_failing_app_is_reported(tmp_path, monkeypatch, small_clouds):
    monkeypatch.setenv("SDFLOW_BIN", f"{sys.executable} -c 'raise SystemExit(3)'")
    target, source = small_clouds
    with pytest.raises(RuntimeError, match="exited with status 3"):
        sdflow.show(sdflow.Simulation(target=target, source=source, steps=2), tmp_path / "x", wait=True)
