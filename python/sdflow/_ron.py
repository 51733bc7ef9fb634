"""Keyword arguments to scene text.

``Simulation(target=x, source=y, schedule=("cosine", 4.0, 0.5), ...)``
becomes the RON text of a scene file, one field per line, which the engine
then parses and validates exactly as it does a ``.ron`` file. So every scene
field is accepted by name, and a bad value gets the same message as in a
file; :func:`scene_text` also returns which keyword sits on which line, so
the message can name the keyword instead of a line of generated text.

Values:

* ``str``: RON text, written as is (``"Sd"``, ``"Mystery(points: 512)"``,
  ``"Fixed(sigma2: 1.0)"``); ``name`` and ``description`` are quoted.
* ``None``: the field is left out (its default applies).
* ``bool``, ``int``, ``float``: RON literals (floats always with a point).
* ``list`` / 1-D array: ``[a, b, ...]``; ``dict``: a struct ``(k: v, ...)``,
  or, with a single capitalised key, an enum variant: ``{"Fixed": {"eta":
  0.1}}`` is ``Fixed(eta: 0.1)``.
* shorthands: ``schedule=("constant", s2)`` or ``(kind, max, min)`` with
  kind ``"cosine"``, ``"linear"``, ``"geometric"``; ``("from_nearest",
  factor)``; ``step_size=("auto", first_norm)`` or ``("fixed", eta)``;
  ``bandwidth=("fixed", s2)``; ``rho=("fixed", r)``; ``batch=B`` is
  ``Some(B)``; ``camera=(yaw_deg, pitch_deg)``.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any, Mapping

_SCHEDULES = {"cosine": "Cosine", "linear": "Linear", "geometric": "Geometric"}

# Scene fields that are text, not RON.
_QUOTED = {"name", "description"}


def literal(value: Any) -> str:
    """A Python value as a RON value (see the module's docstring)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return _float(float(value))
    if isinstance(value, Mapping):
        if len(value) == 1:
            (key, inner), = value.items()
            if isinstance(key, str) and key[:1].isupper():
                if isinstance(inner, Mapping):
                    return key + _struct(inner)
                if isinstance(inner, (tuple, list)):
                    return key + "(" + ", ".join(literal(v) for v in inner) + ")"
                return f"{key}({literal(inner)})"
        return _struct(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(literal(v) for v in value) + ")"
    if hasattr(value, "tolist"):  # NumPy arrays and scalars
        return literal(value.tolist())
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as a scene value; give RON text as a str")


def _float(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = repr(x)
    return text if any(c in text for c in ".eE") else text + ".0"


def _struct(fields: Mapping[str, Any]) -> str:
    return "(" + ", ".join(f"{k}: {literal(v)}" for k, v in fields.items()) + ")"


def _shorthand(field: str, value: Any) -> str:
    """The field-specific tuple forms; anything else goes to :func:`literal`."""
    if field in _QUOTED and isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if field == "batch" and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return f"Some({int(value)})"
    if not (isinstance(value, tuple) and value and isinstance(value[0], str)):
        if field == "camera" and isinstance(value, tuple) and len(value) == 2:
            return f"(yaw_deg: {_float(float(value[0]))}, pitch_deg: {_float(float(value[1]))})"
        return literal(value)
    kind, *args = value
    key = kind.lower()
    try:
        nums = [_float(float(a)) for a in args]
    except (TypeError, ValueError):
        raise ValueError(f"{field}={value!r}: the values after {kind!r} must be numbers") from None
    forms = {
        "schedule": {
            **{k: (2, lambda n, v=v: f"{v}(sigma2_max: {n[0]}, sigma2_min: {n[1]})") for k, v in _SCHEDULES.items()},
            "constant": (1, lambda n: f"Constant(sigma2: {n[0]})"),
            "from_nearest": (1, lambda n: f"FromNearest(factor: {n[0]})"),
        },
        "step_size": {
            "auto": (1, lambda n: f"Auto(first_norm: {n[0]})"),
            "fixed": (1, lambda n: f"Fixed(eta: {n[0]})"),
        },
        "bandwidth": {"fixed": (1, lambda n: f"Fixed(sigma2: {n[0]})")},
        "rho": {"fixed": (1, lambda n: f"Fixed({n[0]})")},
    }.get(field)
    if forms is None or key not in forms:
        known = ", ".join(repr(k) for k in forms) if forms else "none"
        raise ValueError(f"{field}={value!r}: unknown kind {kind!r} (tuple forms: {known}); or give RON text as a str")
    count, make = forms[key]
    if len(nums) != count:
        raise ValueError(f"{field}={value!r}: {kind!r} takes {count} number{'s' if count > 1 else ''}")
    return make(nums)


def scene_text(fields: Mapping[str, Any]) -> tuple[str, dict[int, str]]:
    """RON text of a scene with `fields`, and the keyword on each line."""
    lines = ["("]
    where: dict[int, str] = {}
    for field, value in fields.items():
        if value is None:
            continue
        lines.append(f"    {field}: {_shorthand(field, value)},")
        where[len(lines)] = field
    lines.append(")")
    return "\n".join(lines) + "\n", where
