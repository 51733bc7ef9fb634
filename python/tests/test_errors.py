"""Bad input raises ValueError (SceneError for scenes) in the CLI's words;
the interpreter never crashes."""

from __future__ import annotations

import numpy as np
import pytest

import sdflow
from conftest import SCENES

GOOD = """(
    name: "test",
    seed: 1,
    target: Gaussian(points: 50, mean: [0.0, 0.0], std: 1.0),
    source: Gaussian(points: 40, mean: [3.0, 0.0], std: 1.0),
    method: Sd,
    schedule: Cosine(sigma2_max: 4.0, sigma2_min: 0.5),
    steps: 10,
)
"""


def make(target, source, **kw):
    return sdflow.Simulation(target=target, source=source, steps=5, **kw)


def test_scene_errors_subclass_value_error():
    assert issubclass(sdflow.SceneError, ValueError)


@pytest.mark.parametrize(
    "bad, words",
    [
        (np.zeros(10), "shape (10,)"),
        (np.zeros((2, 3, 4)), "shape (2, 3, 4)"),
        (np.zeros((0, 2)), "at least one point"),
        (np.zeros((5, 0)), "at least one point"),
        (np.zeros((5, 2), dtype=np.int64), "dtype int64"),
        (np.array([[0.0, 1.0], [np.nan, 2.0]]), "point 1, coordinate 0 is `NaN`; coordinates must be finite"),
        (np.array([[0.0, np.inf]]), "coordinates must be finite"),
        (np.array([[1e300, 0.0]]), "coordinates must be finite"),  # not a float32
        ([["a", "b"]], "dtype <U1"),
    ],
)
def test_bad_arrays(small_clouds, bad, words):
    target, _ = small_clouds
    with pytest.raises(ValueError, match="^source: .*") as e:
        make(target, bad)
    assert words in str(e.value)


def test_dimension_mismatch_uses_the_scene_words(rng):
    with pytest.raises(ValueError) as e:
        make(rng.normal(size=(30, 2)), rng.normal(size=(30, 3)))
    assert "the source has dimension 3 but the target has 2; both clouds must live in one space" in str(e.value)
    with pytest.raises(ValueError, match="both clouds must live in one space"):
        sdflow.kernel_means(np.zeros((3, 2)), np.zeros((3, 3)), 1.0)
    with pytest.raises(ValueError, match="both clouds must live in one space"):
        sdflow.cfd(np.zeros((3, 2)), np.zeros((3, 3)))


def test_keyword_problems_name_the_keyword(small_clouds):
    target, source = small_clouds
    with pytest.raises(sdflow.SceneError) as e:
        make(target, source, schedule=("cosine", 0.5, 4.0), batch=0)
    text = str(e.value)
    assert "keyword `schedule`: schedule: `sigma2_min` (4) is larger than `sigma2_max` (0.5)" in text
    assert "keyword `batch`: `batch` is Some(0); use None for full data or a size >= 1" in text
    assert len(e.value.problems) == 2
    with pytest.raises(sdflow.SceneError, match="keyword `cut_off`: Unexpected field named `cut_off`.*`cutoff`"):
        make(target, source, cut_off="Off")
    with pytest.raises(sdflow.SceneError, match="keyword `bandwidth`: a fixed bandwidth is only for Mmd"):
        make(target, source, bandwidth=("fixed", 1.0))
    with pytest.raises(ValueError, match="unknown kind 'cosh'"):
        make(target, source, schedule=("cosh", 1.0, 0.5))


def test_scene_file_errors_have_file_line_and_column(tmp_path):
    path = tmp_path / "bad.ron"
    path.write_text(GOOD.replace("sigma2_min: 0.5", "sigma2_min: 5.0").replace("steps: 10", "steps: 0"))
    with pytest.raises(sdflow.SceneError) as e:
        sdflow.Simulation.from_scene(path)
    lines = str(e.value).splitlines()
    assert f"{path}:7:" in lines[0] or f"{path}:7:" in lines[1], lines
    assert any(line.startswith(f"{path}:8:5: `steps` is 0") for line in lines), lines
    assert {(p[0]) for p in e.value.problems} == {7, 8}
    path.write_text(GOOD.replace("steps: 10,", "steps: 10,,"))
    with pytest.raises(sdflow.SceneError, match=rf"^{path}:8:"):
        sdflow.Simulation.from_scene(path)
    with pytest.raises(sdflow.SceneError, match="cannot read the file"):
        sdflow.Simulation.from_scene(tmp_path / "missing.ron")


def test_the_wrong_kind_of_scene():
    with pytest.raises(ValueError, match="use sdflow.Trainer"):
        sdflow.Simulation.from_scene(SCENES / "fig6_linear50.ron")
    with pytest.raises(ValueError, match="use sdflow.Simulation"):
        sdflow.Trainer.from_scene(SCENES / "mystery_offset.ron")


def test_bad_counts(small_clouds):
    target, source = small_clouds
    sim = make(target, source)
    for kw, words in (
        ({"metrics_every": 0}, "`metrics_every` is 0; give at least 1"),
        ({"steps": -1}, "`steps` is -1; give at least 0"),
        ({"record_every": 0}, "`record_every` is 0"),
    ):
        with pytest.raises(ValueError, match=words):
            sim.run(**kw)
    with pytest.raises(ValueError, match="`steps` is 0; give at least 1"):
        sdflow.Simulation.from_scene(SCENES / "mystery_offset.ron", steps=0)
    with pytest.raises(ValueError, match="`threads` is 0"):
        make(target, source, threads=0)
    assert sim.step_index == 0, "a refused call changes nothing"


def test_bad_noise_levels():
    z = np.zeros((2, 2))
    for sigma2 in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="it must be a finite number > 0"):
            sdflow.kernel_means(z, z, sigma2)
    with pytest.raises(ValueError, match="f32 kernels represent sigma"):
        sdflow.divergences(z, z, 1e-40)


def test_bad_csv_names_the_line(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("x,y\n1,2\n3,abc\n")
    with pytest.raises(ValueError, match=r"p.csv:3: field 2 is `abc`, not a number"):
        sdflow.read_points(path)


def test_requests_beyond_memory_are_refused(small_clouds):
    target, source = small_clouds
    sim = sdflow.Simulation(target=target, source=source, steps=10**12)
    with pytest.raises(ValueError, match="frames of the moving cloud need about .* GiB.*raise `record_every`"):
        sim.run(record_every=1)
    trainer = sdflow.Trainer.from_scene(SCENES / "fig6_linear50.ron", steps=2)
    with pytest.raises(ValueError, match="samples need about .* GiB.*ask for fewer"):
        trainer.sample(10**13)
    assert sim.step_index == 0 and trainer.step_index == 0
