"""Shared fixtures: the repository, small clouds, and the `sdflow` CLI the
parity tests compare against (built here when it is not given)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SCENES = REPO / "scenes"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def small_clouds(rng):
    """A 2-D target and source, 120 and 80 points."""
    target = rng.normal(size=(120, 2)) * [1.0, 0.5] + [3.0, 1.0]
    source = rng.normal(size=(80, 2))
    return target, source


@pytest.fixture(scope="session")
def cli() -> Path:
    """The `sdflow` command-line binary: $SDFLOW_BIN when set, else built
    from this repository with `cargo build --no-default-features` (a no-op
    when up to date), so the comparison is always with the current source."""
    given = os.environ.get("SDFLOW_BIN")
    if given:
        path = Path(given)
        if not path.is_file():
            pytest.fail(f"SDFLOW_BIN={given} is not a file; unset it to build the CLI from {REPO}")
        return path
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.fail("the parity tests need the sdflow CLI: install Rust (cargo) or set SDFLOW_BIN to the binary")
    build = subprocess.run(
        [cargo, "build", "--no-default-features", "--quiet", "--manifest-path", str(REPO / "Cargo.toml")],
        capture_output=True,
        text=True,
    )
    if build.returncode != 0:
        pytest.fail(f"cannot build the sdflow CLI:\n{build.stderr[-4000:]}")
    given_target = os.environ.get("CARGO_TARGET_DIR")
    target = Path(given_target).resolve() if given_target else REPO / "target"
    binary = target / "debug" / "sdflow"
    if not binary.is_file():
        pytest.fail(f"cargo built the CLI but {binary} is missing")
    return binary
