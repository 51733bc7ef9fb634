"""Ctrl-C (SIGINT) stops a long `run` between steps with KeyboardInterrupt,
leaving the simulation usable at the step it reached."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

CHILD = textwrap.dedent(
    """
    import signal, sys, numpy as np, sdflow
    # What a terminal gives Python; a shell without job control starts
    # background jobs with SIGINT ignored, and Python keeps that.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    rng = np.random.default_rng(0)
    sim = sdflow.Simulation(target=rng.normal(size=(400, 3)), source=rng.normal(size=(400, 3)) + 5,
                            steps=10_000_000, schedule=("constant", 1.0))
    print("ready", flush=True)
    try:
        sim.run(metrics_every=10_000_000)
    except KeyboardInterrupt:
        sim.step()
        print("interrupted", sim.step_index, sim.points.shape, flush=True)
        sys.exit(0)
    print("finished", flush=True)
    sys.exit(1)
    """
)


def test_ctrl_c_interrupts_a_long_run():
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        # Give the child time to enter `run`; each step takes milliseconds.
        time.sleep(1.0)
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=60)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 0, out
    words = out.split()
    assert words[0] == "interrupted" and 0 < int(words[1]) < 10_000_000
