"""The type stubs name what the package has, with the same parameters."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import sdflow
from sdflow import _sdflow

PACKAGE = Path(sdflow.__file__).parent


def stub_defs(name: str) -> dict[str, ast.AST]:
    tree = ast.parse((PACKAGE / name).read_text())
    out: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out[node.name] = node
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        out[f"{node.name}.{item.name}"] = item
    return out


def params(fn: ast.FunctionDef) -> list[str]:
    a = fn.args
    names = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
    return [n for n in names if n not in ("self", "cls")]


def runtime_params(obj) -> list[str]:
    sig = inspect.signature(obj)
    skipped = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    return [p.name for p in sig.parameters.values() if p.kind not in skipped and p.name not in ("self", "cls")]


@pytest.mark.parametrize("stub, module", [("__init__.pyi", sdflow), ("_sdflow.pyi", _sdflow)])
def test_stubs_match_the_runtime(stub, module):
    defs = stub_defs(stub)
    assert (PACKAGE / "py.typed").is_file()
    for name, node in defs.items():
        owner, _, attr = name.partition(".")
        obj = getattr(module, owner)
        if attr:
            obj = inspect.getattr_static(obj, attr)
            if isinstance(obj, property) or type(obj).__name__ == "getset_descriptor":
                continue
            obj = getattr(getattr(module, owner), attr)
        if isinstance(node, ast.FunctionDef):
            assert runtime_params(obj) == params(node), name
    public = {n for n in sdflow.__all__ if callable(getattr(sdflow, n)) and n != "SceneError"}
    if module is sdflow:
        assert public <= set(defs), public - set(defs)
