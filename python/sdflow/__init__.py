"""sdflow: score-difference (SD) flow and MMD gradient flow between point
clouds (Weber, "The Score-Difference Flow for Implicit Generative Modeling",
TMLR 2023), on the engine of the ``sdflow`` lab.

>>> import numpy as np, sdflow
>>> rng = np.random.default_rng(0)
>>> sim = sdflow.Simulation(target=rng.normal(size=(300, 2)) + 3, source=rng.normal(size=(200, 2)), steps=50)
>>> h = sim.run(metrics_every=10)
>>> h["step"].tolist()
[0, 10, 20, 30, 40, 50]

* :class:`Simulation`: a particle flow (Algorithm 1), from a scene file or
  from arrays; ``Simulation.from_scene(p).run()`` ends with exactly the
  points ``sdflow run p --points out.csv`` writes.
* :class:`Trainer`: a generator trained by a flow (Algorithm 2).
* :func:`cfd`, :func:`kernel_means`, :func:`divergences`: the lab's metrics.
* :func:`over_seeds`: one scene over several seeds; :func:`show`: open a run
  in the desktop app.

Steps run with the GIL released on every core (``threads=`` limits them);
Ctrl-C stops a long ``run`` after the step in progress. Bad input raises
``ValueError`` (scene problems: its subclass :class:`SceneError`) with the
words the ``sdflow`` command uses.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, Union

import numpy as np

from . import _ron, _sdflow
from ._sdflow import SceneError, read_points, write_points

__all__ = [
    "Simulation",
    "Trainer",
    "SceneError",
    "cfd",
    "kernel_means",
    "divergences",
    "over_seeds",
    "show",
    "read_points",
    "write_points",
    "METRIC_NAMES",
    "DIVERGENCE_NAMES",
]

__version__ = "0.1.0"

#: Alignment metric columns (``run()`` keys), in the CLI's order.
METRIC_NAMES: tuple[str, ...] = tuple(_sdflow.METRIC_NAMES)
#: Divergence columns (``run()`` and :func:`divergences` keys).
DIVERGENCE_NAMES: tuple[str, ...] = tuple(_sdflow.DIVERGENCE_NAMES)
#: One line per divergence: what it measures.
DIVERGENCE_EXPLANATIONS: dict[str, str] = dict(zip(_sdflow.DIVERGENCE_NAMES, _sdflow.DIVERGENCE_EXPLANATIONS))

PathLike = Union[str, "os.PathLike[str]"]
History = dict[str, np.ndarray]


def _cloud(role: str, x: Any) -> np.ndarray:
    """`x` as a C-contiguous (n, d) float32 array, or a ValueError naming `role`."""
    a = np.asarray(x)
    if a.dtype.kind != "f":
        raise ValueError(f"{role}: the array has dtype {a.dtype}; give floating-point coordinates (float32 or float64)")
    if a.ndim != 2:
        raise ValueError(f"{role}: the array has shape {a.shape}; give an (n, d) array, one point per row")
    with np.errstate(over="ignore"):  # too large for float32: caught as non-finite
        return np.ascontiguousarray(a, dtype=np.float32)


def _history(raw: Mapping[str, Any]) -> History:
    return {k: np.asarray(v) for k, v in raw.items()}


def _warn(messages: Iterable[str]) -> None:
    for m in messages:
        warnings.warn(m, stacklevel=3)


def _from_keywords(make, kind: str, arrays: dict[str, np.ndarray], fields: dict[str, Any], threads):
    """Builds a core from keyword `fields`; problems name their keyword."""
    text, where = _ron.scene_text(fields)
    try:
        return make(text, f"{kind}(...)", **arrays, threads=threads)
    except SceneError as e:
        problems = getattr(e, "problems", [])
        if not problems:
            raise
        lines = [f"keyword `{where.get(line, '?')}`: {message}" for line, _, message in problems]
        err = SceneError("\n".join(lines))
        err.problems = problems
        raise err from None


def _dataset_or_array(role: str, value: Any, arrays: dict[str, np.ndarray]) -> str | None:
    """A data set keyword: RON text as is, an array as a placeholder `Csv`."""
    if value is None or isinstance(value, str):
        return value
    arrays[role] = _cloud(role, value)
    return f'Csv(path: "{role}.csv")'


class Simulation:
    """A particle flow between a fixed cloud and a moving one (Algorithm 1).

    Build it from a scene file with :meth:`from_scene`, or from arrays::

        Simulation(target=x, source=y, method="Sd", schedule=("cosine", 4.0, 0.5),
                   steps=500, step_size=("auto", 0.5), batch=None, seed=0)

    `target` and `source` are (N, d) and (M, d) float arrays (float64 is
    rounded to float32), or RON data sets such as ``"Mystery(points: 1024)"``.
    Every other scene field is a keyword too (``direction``, ``bandwidth``,
    ``cutoff``, ``rho``, ``driver``, ``cfd_frequencies``, ...): see
    ``sdflow._ron`` for the value forms. `threads` caps the worker threads
    (default: one per core); results do not depend on it.
    """

    _core: _sdflow.SimCore

    def __init__(
        self,
        *,
        target: Any,
        source: Any,
        method: str = "Sd",
        schedule: Any = ("cosine", 4.0, 0.5),
        steps: int = 500,
        step_size: Any = ("auto", 0.5),
        batch: int | None = None,
        seed: int = 0,
        name: str = "Python simulation",
        threads: int | None = None,
        **fields: Any,
    ) -> None:
        arrays: dict[str, np.ndarray] = {}
        scene = {
            "name": name,
            "seed": seed,
            "target": _dataset_or_array("target", target, arrays),
            "source": _dataset_or_array("source", source, arrays),
            "method": method,
            "schedule": schedule,
            "steps": steps,
            "step_size": step_size,
            "batch": batch,
            **fields,
        }
        self._core = _from_keywords(_sdflow.SimCore.from_text, "Simulation", arrays, scene, threads)
        _warn(self._core.warnings())

    @classmethod
    def from_scene(
        cls, path: PathLike, seed: int | None = None, *, steps: int | None = None, threads: int | None = None
    ) -> "Simulation":
        """The scene file at `path`, as ``sdflow run PATH [--seed S] [--steps T]``
        runs it (seed None: the scene's)."""
        self = cls.__new__(cls)
        self._core = _sdflow.SimCore.from_scene(os.fspath(path), seed, steps, threads)
        _warn(self._core.warnings())
        return self

    def step(self) -> None:
        """Takes one step (nothing once every step is taken)."""
        self._core.step()

    def run(self, steps: int | None = None, metrics_every: int = 10, record_every: int | None = None) -> History:
        """Takes `steps` more steps (None: to the end) and returns the history.

        The history is a dict of 1-D arrays keyed by the ``sdflow run
        --metrics`` column names (``step``, ``sigma2``, ``kernel_sigma2``,
        ``eta``, ``path``, ``ms``, then :data:`METRIC_NAMES`,
        :data:`DIVERGENCE_NAMES` and the GAN columns where they apply), with
        a row for the state before the first step, one every
        `metrics_every` steps and one after the last step. With
        `record_every` = K also ``points``, a (T, M, d) array of the moving
        cloud at step 0, every K steps and the last, and ``points_step``.
        """
        return _history(self._core.run(steps, metrics_every, record_every))

    def reset(self) -> None:
        """Back to step 0 and the starting points."""
        self._core.reset()

    def scene_ron(self) -> str:
        """The scene as run (its seed and step count) as RON text; clouds
        given as arrays appear as ``Csv(path: "target.csv")`` and
        ``Csv(path: "source.csv")`` (:func:`show` writes those files)."""
        return self._core.scene_ron()

    @property
    def points(self) -> np.ndarray:
        """The moving cloud now: an (M, d) float32 copy."""
        return self._core.points

    @property
    def fixed(self) -> np.ndarray:
        """The cloud the flow aims at (the target; the source in reverse)."""
        return self._core.fixed

    @property
    def target(self) -> np.ndarray:
        """The scene's target cloud (float32 copy)."""
        return self._core.target

    @property
    def source(self) -> np.ndarray:
        """The scene's source cloud as it started (float32 copy)."""
        return self._core.source

    @property
    def step_index(self) -> int:
        """Steps taken so far."""
        return self._core.step_index

    @property
    def steps(self) -> int:
        """Steps of the whole run."""
        return self._core.steps

    @property
    def finished(self) -> bool:
        return self._core.finished

    @property
    def seed(self) -> int:
        return self._core.seed

    @property
    def eta(self) -> float | None:
        """The step size in force (None before an ``Auto`` step size's first step)."""
        return self._core.eta

    @property
    def non_finite(self) -> int:
        """Updates dropped for not being finite (0 in a healthy run)."""
        return self._core.non_finite

    @property
    def name(self) -> str:
        return self._core.name

    def __repr__(self) -> str:
        m, d = self.points.shape
        return f"<sdflow.Simulation {self.name!r}: {m} points in {d}-D, step {self.step_index}/{self.steps}, seed {self.seed}>"


class Trainer:
    """A generator trained by a flow (Algorithm 2): each step moves a batch of
    its samples along the flow toward the target and regresses the generator
    onto the moved points.

    From a scene file with a ``model`` (:meth:`from_scene`), or from a target
    array::

        Trainer(target=x, model="Linear(latent: 2)", schedule=("constant", 1.0),
                steps=200, step_size=("fixed", 1.0), batch=256)
    """

    _core: _sdflow.TrainCore

    def __init__(
        self,
        *,
        target: Any,
        model: Any,
        method: str = "Sd",
        schedule: Any = ("cosine", 4.0, 0.5),
        steps: int = 500,
        step_size: Any = ("auto", 0.5),
        batch: int | None = None,
        seed: int = 0,
        name: str = "Python generator",
        threads: int | None = None,
        **fields: Any,
    ) -> None:
        arrays: dict[str, np.ndarray] = {}
        scene = {
            "name": name,
            "seed": seed,
            "target": _dataset_or_array("target", target, arrays),
            "model": model,
            "method": method,
            "schedule": schedule,
            "steps": steps,
            "step_size": step_size,
            "batch": batch,
            **fields,
        }
        self._core = _from_keywords(_sdflow.TrainCore.from_text, "Trainer", arrays, scene, threads)
        _warn(self._core.warnings())

    @classmethod
    def from_scene(
        cls, path: PathLike, seed: int | None = None, *, steps: int | None = None, threads: int | None = None
    ) -> "Trainer":
        """The scene file at `path` (it must have a ``model``), as ``sdflow run`` trains it."""
        self = cls.__new__(cls)
        self._core = _sdflow.TrainCore.from_scene(os.fspath(path), seed, steps, threads)
        _warn(self._core.warnings())
        return self

    def step(self) -> None:
        """One training step (nothing once every step is taken)."""
        self._core.step()

    def run(self, steps: int | None = None, metrics_every: int = 10, samples: int | None = None) -> History:
        """Trains `steps` more steps (None: to the end); returns the history
        keyed by the CLI's training columns (``step``, ``sigma2``, ...,
        ``loss``, ``mu_rel_error`` and ``cov_rel_error`` for a
        ``LinearGaussian`` target, then :data:`METRIC_NAMES` of `samples`
        generator samples, default as many as the target has points)."""
        return _history(self._core.run(steps, metrics_every, samples))

    def params(self) -> dict[str, Any]:
        """The generator's parameters (``sdflow run --params``), arrays as NumPy:
        ``{"kind": "Linear", "matrix": (d, latent), "offset": (d,)}`` or
        ``{"kind": "Mlp", "activation": ..., "layers": [{"weights", "bias", "activated"}, ...]}``."""
        raw = json.loads(self._core.params_json())
        if raw.get("kind") == "Linear":
            raw["matrix"] = np.asarray(raw["matrix"], dtype=np.float32)
            raw["offset"] = np.asarray(raw["offset"], dtype=np.float32)
        for layer in raw.get("layers", []):
            for key in ("weights", "bias"):
                if key in layer:
                    layer[key] = np.asarray(layer[key], dtype=np.float32)
        return raw

    def sample(self, n: int) -> np.ndarray:
        """`n` generator samples, (n, d) float32, from fixed latent inputs
        (the same inputs every call)."""
        return self._core.sample(n)

    def linear_errors(self) -> tuple[float, float] | None:
        """(relative error of mu_hat, of B_hat B_hat^T) against a
        ``LinearGaussian`` target's truth; None otherwise."""
        return self._core.linear_errors()

    def scene_ron(self) -> str:
        """The scene as run, as RON text."""
        return self._core.scene_ron()

    @property
    def target(self) -> np.ndarray:
        return self._core.target

    @property
    def step_index(self) -> int:
        return self._core.step_index

    @property
    def steps(self) -> int:
        return self._core.steps

    @property
    def finished(self) -> bool:
        return self._core.finished

    @property
    def seed(self) -> int:
        return self._core.seed

    @property
    def batch(self) -> int:
        """Samples per step."""
        return self._core.batch

    @property
    def name(self) -> str:
        return self._core.name

    def __repr__(self) -> str:
        return f"<sdflow.Trainer {self.name!r}: step {self.step_index}/{self.steps}, seed {self.seed}>"


def cfd(a: Any, b: Any, frequencies: int = 256, seed: int = 0) -> float:
    """The lab's CFD (App. E.1) between clouds `a` and `b`: the mean over
    `frequencies` frequencies omega ~ N(0, I), drawn from `seed`, of
    |phi_a(omega) - phi_b(omega)|, phi the empirical characteristic function.
    0 for a cloud and itself."""
    return _sdflow.cfd(_cloud("a", a), _cloud("b", b), frequencies, seed)


def kernel_means(queries: Any, centres: Any, sigma2: float) -> np.ndarray:
    """D(z) of eq. 15 for each query z: sum_j w_j c_j / sum_j w_j with
    w_j = exp(-|z - c_j|^2 / (2 sigma2)), the optimal denoiser of the
    centres smoothed by N(0, sigma2 I). A (Q, d) float32 array; the sums are
    max-shifted, so far queries get their nearest centre, never NaN."""
    return _sdflow.kernel_means(_cloud("queries", queries), _cloud("centres", centres), float(sigma2))


def divergences(
    q: Any, p: Any, sigma2: float, *, seed: int = 0, held_out: Any = None, frequencies: int = 256
) -> dict[str, float]:
    """Every divergence column of ``sdflow run --metrics`` for the moving
    cloud `q` against the target `p` at noise level `sigma2` (the KL, JS and
    Fisher values are those of the sigma-smoothed proxies). `held_out`, a
    second sample of p's data, fills ``cfd_heldout``, ``cfd_floor`` and
    ``memorization``; without it they are NaN, as are the KL rates (they
    need a run). See :data:`DIVERGENCE_EXPLANATIONS`."""
    h = None if held_out is None else _cloud("held_out", held_out)
    return _sdflow.divergences(_cloud("q", q), _cloud("p", p), float(sigma2), seed, h, frequencies)


def over_seeds(
    scene: PathLike,
    seeds: int | Sequence[int] = 8,
    *,
    steps: int | None = None,
    threads: int | None = None,
    samples: int | None = None,
) -> dict[str, Any]:
    """Runs the scene file once per seed (``seeds``: a count, meaning seeds
    0..n-1, or the seeds themselves) and gathers the final row of each run.

    Returns a dict: ``"seed"`` and every numeric history column as an array
    with one entry per seed, plus ``"mean"``, ``"min"`` and ``"max"``: dicts
    of those columns over the seeds (NaN where a column is NaN throughout).
    Generator scenes (with a ``model``) train a :class:`Trainer`, whose
    metrics use `samples` samples.
    """
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("`seeds` is empty; give a count >= 1 or a list of seeds")
    path = os.fspath(scene)
    finals: list[dict[str, float]] = []
    for seed in seed_list:
        try:
            core: Any = _sdflow.SimCore.from_scene(path, seed, steps, threads)
            history = core.run(None, max(core.steps, 1), None)
        except ValueError as e:
            if "use sdflow.Trainer" not in str(e):
                raise
            core = _sdflow.TrainCore.from_scene(path, seed, steps, threads)
            history = core.run(None, max(core.steps, 1), samples)
        finals.append({k: float(np.asarray(v)[-1]) for k, v in history.items() if k not in ("step", "path")})
    out: dict[str, Any] = {"seed": np.asarray(seed_list, dtype=np.int64)}
    for key in finals[0]:
        out[key] = np.asarray([f[key] for f in finals], dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        for stat, f in (("mean", np.nanmean), ("min", np.nanmin), ("max", np.nanmax)):
            out[stat] = {k: float(f(out[k])) for k in finals[0]}
    return out


def _app_command() -> list[str]:
    """How to start the desktop app: $SDFLOW_BIN, `sdflow` on PATH, or
    `cargo run --release` in the repository this package was built from."""
    env = os.environ.get("SDFLOW_BIN")
    if env:
        return shlex.split(env)
    found = shutil.which("sdflow")
    if found:
        return [found]
    manifest = Path(_sdflow.REPO_DIR) / "Cargo.toml"
    cargo = shutil.which("cargo")
    if manifest.is_file() and cargo:
        return [cargo, "run", "--release", "--manifest-path", str(manifest.resolve()), "--"]
    raise FileNotFoundError(
        "no sdflow app found: set SDFLOW_BIN to the sdflow binary, put it on PATH, "
        f"or keep the repository this package was built from ({Path(_sdflow.REPO_DIR).resolve()}) and cargo"
    )


def show(sim: Simulation, folder: PathLike | None = None, *, wait: bool = False) -> Path:
    """Opens the desktop app on `sim`'s run and returns the folder it reads.

    Writes ``scene.ron`` (the scene as run, same seed and steps), its clouds
    ``target.csv`` and ``source.csv`` (exact float32 values) and
    ``points.csv`` (the moving cloud now) into `folder` (default: a new
    temporary folder), then starts ``$SDFLOW_BIN scene.ron``, else ``sdflow
    scene.ron`` from PATH, else ``cargo run --release -- scene.ron`` in the
    repository the package was built from. The app replays the run from its
    start. With `wait`, waits for the app to close and raises
    ``RuntimeError`` if it failed.
    """
    if not isinstance(sim, Simulation):
        raise TypeError(f"show() takes a Simulation, not {type(sim).__name__}")
    out = Path(tempfile.mkdtemp(prefix="sdflow-show-")) if folder is None else Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    sim._core.save_for_app(os.fspath(out))
    command = _app_command() + [str(out / "scene.ron")]
    process = subprocess.Popen(command)
    if wait:
        code = process.wait()
        if code != 0:
            raise RuntimeError(f"`{shlex.join(command)}` exited with status {code}")
    return out
