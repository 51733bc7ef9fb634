"""Keyword values as RON text."""

from __future__ import annotations

import numpy as np
import pytest

from sdflow._ron import literal, scene_text


def test_literals():
    assert literal(3) == "3" and literal(np.int64(3)) == "3"
    assert literal(2.0) == "2.0" and literal(1e-7) == "1e-07" and literal(np.float32(0.5)) == "0.5"
    assert literal(float("nan")) == "NaN" and literal(-float("inf")) == "-inf"
    assert literal(True) == "true"
    assert literal([0.0, 1]) == "[0.0, 1]" and literal(np.array([1.5, 2.5])) == "[1.5, 2.5]"
    assert literal("Mystery(points: 10)") == "Mystery(points: 10)"
    assert literal({"Fixed": {"eta": 0.1}}) == "Fixed(eta: 0.1)"
    assert literal({"Fixed": 0.05}) == "Fixed(0.05)"
    assert literal({"yaw_deg": 1.0, "pitch_deg": 2.0}) == "(yaw_deg: 1.0, pitch_deg: 2.0)"
    with pytest.raises(TypeError, match="cannot write object"):
        literal(object())


def test_scene_text_and_shorthands():
    text, where = scene_text(
        {
            "name": 'a "quoted" name',
            "schedule": ("cosine", 4, 0.5),
            "step_size": ("fixed", 1),
            "batch": 64,
            "source": None,
            "rho": ("fixed", 0.1),
            "camera": (20, 55),
        }
    )
    lines = text.splitlines()
    assert lines[0] == "(" and lines[-1] == ")"
    assert lines[1] == '    name: "a \\"quoted\\" name",'
    assert lines[2] == "    schedule: Cosine(sigma2_max: 4.0, sigma2_min: 0.5),"
    assert lines[3] == "    step_size: Fixed(eta: 1.0),"
    assert lines[4] == "    batch: Some(64),"
    assert lines[5] == "    rho: Fixed(0.1),"
    assert lines[6] == "    camera: (yaw_deg: 20.0, pitch_deg: 55.0),"
    assert where == {2: "name", 3: "schedule", 4: "step_size", 5: "batch", 6: "rho", 7: "camera"}
    assert scene_text({"schedule": ("constant", 2)})[0].splitlines()[1] == "    schedule: Constant(sigma2: 2.0),"
    with pytest.raises(ValueError, match="takes 2 numbers"):
        scene_text({"schedule": ("linear", 2)})
