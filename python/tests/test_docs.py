"""The package docstring's example and the example script run as written."""

from __future__ import annotations

import doctest
import os
import subprocess
import sys
from pathlib import Path

import sdflow

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sd_vs_mmd.py"


def test_the_docstring_example():
    result = doctest.testmod(sdflow)
    assert result.attempted >= 3 and result.failed == 0


def test_the_example_script_runs_top_to_bottom(tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    run = subprocess.run([sys.executable, str(EXAMPLE)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    cfd = next(line for line in lines if line.strip().startswith("cfd ")).split()
    assert float(cfd[1]) < float(cfd[2]), "SD ends nearer the target than MMD"
