"""Every module a stage imports either decides its results (and is in its code
hash) or is listed, with a reason, as not deciding them."""

from __future__ import annotations

import ast

import pytest

from conftest import ROOT
from justeval.config.code_versions import DECIDES, NOT_DECIDING, UNTRACKED, code_version

PACKAGE = ROOT / "workflow" / "justeval"


def _modules() -> dict[str, object]:
    """Module name relative to the package ('__init__', 'grading.__init__', 'grading.extract') -> path."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        out[".".join(path.relative_to(PACKAGE).with_suffix("").parts)] = path
    return out


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """Package modules imported anywhere in a module (function-level imports too)."""
    path = MODULES[name]
    package = name.rpartition(".")[0]
    base = package.split(".") if package else []
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            target = base[: len(base) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            for alias in node.names:
                candidate = ".".join([*target, alias.name])
                found.add(candidate if _known(candidate) else ".".join(target) or "__init__")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for n in names:
                if n == "justeval" or n.startswith("justeval."):
                    found.add(n.removeprefix("justeval").lstrip(".") or "__init__")
    return {_module(m) for m in found if _known(m)}


def _module(name: str) -> str:
    """A module's name, or a folder's `__init__` module."""
    return name if name in MODULES else f"{name}.__init__"


def _known(name: str) -> bool:
    return name in MODULES or f"{name}.__init__" in MODULES


def closure(entry: str) -> set[str]:
    """Every package module that running ``entry`` may execute (package __init__s too)."""
    seen, stack = set(), [entry]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(_imports(name))
        parts = name.split(".")
        stack.extend(
            ".".join(parts[:i]) + ".__init__" for i in range(1, len(parts)) if parts[i - 1] != "__init__"
        )
        stack.append("__init__")
    return seen


def covered(module: str, listed) -> bool:
    """Whether ``module`` is one of ``listed`` or inside a listed folder (``__init__``
    lists every folder's ``__init__.py``)."""
    if "__init__" in listed and module.endswith("__init__"):
        return True
    return any(module == m or module.startswith(m + ".") for m in listed)


@pytest.mark.parametrize("stage", list(DECIDES))
def test_every_imported_module_is_listed(stage):
    entry, decides = DECIDES[stage]
    excluded = {**NOT_DECIDING, **UNTRACKED.get(stage, {})}
    unlisted = sorted(m for m in closure(entry) if not covered(m, decides) and not covered(m, excluded))
    assert not unlisted, (
        f"stage {stage}: {unlisted} are imported but neither decide its results "
        f"(DECIDES) nor are excluded with a reason (NOT_DECIDING / UNTRACKED) in config/code_versions.py"
    )


def test_listed_modules_exist_and_are_used():
    for stage, (entry, decides) in DECIDES.items():
        assert entry in MODULES, entry
        reached = closure(entry)
        for module in decides:
            assert any(covered(m, [module]) for m in reached), f"{stage}: {module} is listed but not imported"
    for module in NOT_DECIDING:
        assert any(covered(m, [module]) for m in MODULES), module


def test_the_walk_finds_function_level_imports():
    # rule_grade imports benchmarks.unwrap_gold inside a function; aggregate its grader
    assert "sources.benchmarks" in closure("stages.rule_grade")
    assert covered("grading.runner", ["grading"]) and "grading.runner" in closure("stages.aggregate")


def test_code_versions_follow_the_listed_sources(tmp_path):
    """A copy of the package: editing a deciding module changes that stage's version only."""
    import shutil

    copy = tmp_path / "justeval"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = {stage: code_version(stage, copy) for stage in DECIDES}
    assert before == {stage: code_version(stage) for stage in DECIDES}
    with open(copy / "sources" / "benchmarks.py", "a") as fh:
        fh.write("\n# a change to gold unwrapping\n")
    after = {stage: code_version(stage, copy) for stage in DECIDES}
    changed = {s for s in DECIDES if before[s] != after[s]}
    # an import reads the prepared benchmark (an input), not the unwrapping code
    assert changed == {"prepare_benchmark", "rule_grade"}
    assert after["generate"] == "untracked"
