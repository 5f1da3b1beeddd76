"""Every module a stage imports either decides its results (and is in its code
hash) or is listed, with a reason, as not deciding them."""

from __future__ import annotations

import ast

import pytest

from conftest import ROOT
from justeval.stage_code import DECIDES, NOT_DECIDING, UNTRACKED, code_version

PACKAGE = ROOT / "workflow" / "justeval"


def _modules() -> dict[str, object]:
    """Module name relative to the package ('__init__', 'grading', 'grading.extract') -> path."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1] or ["__init__"]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """Package modules imported anywhere in a module (function-level imports too)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    base = [] if package in ("", "__init__") else package.split(".")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            target = base[: len(base) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            for alias in node.names:
                candidate = ".".join([*target, alias.name])
                found.add(candidate if candidate in MODULES else ".".join(target) or "__init__")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for n in names:
                if n == "justeval" or n.startswith("justeval."):
                    found.add(n.removeprefix("justeval").lstrip(".") or "__init__")
    return {m for m in found if m in MODULES}


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
        stack.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        stack.append("__init__")
    return seen


def covered(module: str, listed) -> bool:
    """Whether ``module`` is one of ``listed`` or inside a listed folder."""
    return any(module == m or module.startswith(m + ".") for m in listed)


@pytest.mark.parametrize("stage", list(DECIDES))
def test_every_imported_module_is_listed(stage):
    entry, decides = DECIDES[stage]
    excluded = {**NOT_DECIDING, **UNTRACKED.get(stage, {})}
    unlisted = sorted(m for m in closure(entry) if not covered(m, decides) and not covered(m, excluded))
    assert not unlisted, (
        f"stage {stage}: {unlisted} are imported but neither decide its results "
        f"(DECIDES) nor are excluded with a reason (NOT_DECIDING / UNTRACKED) in justeval/stage_code.py"
    )


def test_listed_modules_exist_and_are_used():
    for stage, (entry, decides) in DECIDES.items():
        assert entry in MODULES, entry
        reached = closure(entry)
        for module in decides:
            assert any(covered(m, [module]) for m in reached), f"{stage}: {module} is listed but not imported"
    for module in NOT_DECIDING:
        assert module in MODULES, module


def test_the_walk_finds_function_level_imports():
    # rule_grade imports benchmarks.unwrap_gold inside a function; aggregate its grader
    assert "benchmarks" in closure("rule_grade")
    assert covered("grading.runner", ["grading"]) and "grading.runner" in closure("aggregate")


def test_code_versions_follow_the_listed_sources(tmp_path):
    """A copy of the package: editing a deciding module changes that stage's version only."""
    import shutil

    copy = tmp_path / "justeval"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = {stage: code_version(stage, copy) for stage in DECIDES}
    assert before == {stage: code_version(stage) for stage in DECIDES}
    with open(copy / "benchmarks.py", "a") as fh:
        fh.write("\n# a change to gold unwrapping\n")
    after = {stage: code_version(stage, copy) for stage in DECIDES}
    changed = {s for s in DECIDES if before[s] != after[s]}
    assert changed == {"prepare_benchmark", "import_generations", "rule_grade", "provided_verdicts"}
    assert after["generate"] == "untracked"
