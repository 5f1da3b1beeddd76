"""The package's layers, checked on its imports (function-level ones too).

    io, command  <  grading  <  sources, metrics, analysis, engine, page  <  config, stages  <  cli

A module imports only its own folder or a lower layer; folders of one layer do
not import each other; no stage module imports another; nothing at run time
(stages/) imports the parse-time config/; there are no import cycles. See
docs/development.md (Architecture).
"""

from __future__ import annotations

import ast
import re

import pytest

from conftest import ROOT

PACKAGE = ROOT / "workflow" / "justeval"
RULES = ROOT / "workflow" / "rules"

LAYERS = {
    "__init__": -1,  # the package root: its docstring and __version__
    "io": 0,
    "command": 0,
    "grading": 1,
    "sources": 2,
    "metrics": 2,
    "analysis": 2,
    "page": 2,
    "engine": 2,
    "config": 3,
    "stages": 3,
    "cli": 4,
    "__main__": 5,
}


def _modules() -> dict[str, object]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def imports(name: str) -> set[str]:
    """Package modules that module ``name`` imports, anywhere in its code."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            targets = [f"{module}.{a.name}" for a in node.names] + [module]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("justeval"):
            module = node.module.removeprefix("justeval").lstrip(".")
            targets = [f"{module}.{a.name}".lstrip(".") for a in node.names] + [module or "__init__"]
        elif isinstance(node, ast.Import):
            targets = [
                a.name.removeprefix("justeval").lstrip(".")
                for a in node.names
                if a.name.startswith("justeval")
            ]
        for target in targets:
            if target in MODULES:
                found.add(target)
                break
    return found - {name}


GRAPH = {name: imports(name) for name in MODULES}


def group(name: str) -> str:
    return name.split(".")[0]


def test_the_walk_sees_the_package():
    assert {"stages.generate", "io.parquet", "grading.compare", "config.plan", "cli"} <= set(MODULES)
    assert "io.parquet" in GRAPH["stages.generate"]
    assert "grading.normalize" in GRAPH["grading.compare"]  # relative imports
    assert "grading.runner" in GRAPH["stages.aggregate"]  # an import inside a function
    assert set(map(group, MODULES)) <= set(LAYERS), set(map(group, MODULES)) - set(LAYERS)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_a_higher_layer_or_a_sibling_folder(name):
    for target in GRAPH[name]:
        mine, theirs = LAYERS[group(name)], LAYERS[group(target)]
        assert theirs < mine or group(target) == group(name), (
            f"{name} imports {target} (layer {theirs} >= {mine})"
        )


def test_no_stage_imports_another_stage_or_the_config():
    for name, targets in GRAPH.items():
        if group(name) == "stages":
            bad = sorted(t for t in targets if group(t) in ("stages", "config"))
            assert not bad, f"{name} imports {bad}"


def test_no_import_cycles():
    state: dict[str, int] = {}

    def visit(name, stack):
        state[name] = 1
        for target in GRAPH[name]:
            if state.get(target) == 1:
                cycle = stack[stack.index(target) :] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*stack, target])
        state[name] = 2

    for name in MODULES:
        if name not in state:
            visit(name, [name])


def test_folder_inits_hold_only_their_docstring():
    """Importing a folder runs nothing; grading's re-exports its small public API."""
    for path in PACKAGE.rglob("__init__.py"):
        body = ast.parse(path.read_text()).body
        if path.parent == PACKAGE:
            continue
        if path.parent.name == "grading":
            assert all(isinstance(n, (ast.Expr, ast.ImportFrom, ast.Assign)) for n in body)
            continue
        assert len(body) == 1 and isinstance(body[0], ast.Expr), f"{path} holds more than a docstring"


def test_each_rule_file_has_its_stage_module_and_each_command_lives_there():
    from justeval.cli import COMMANDS, entry_point

    support = {"setup", "paths", "inputs", "checks", "targets"}
    stages = {p.stem for p in RULES.glob("*.smk")} - support
    assert stages == {p.stem for p in (PACKAGE / "stages").glob("*.py")} - {"__init__"}
    assert set(COMMANDS.values()) == stages
    for name, module in COMMANDS.items():
        func = entry_point(name)
        assert func.__module__ == f"justeval.stages.{module}"
        # one naming rule: a command's entry function is named like it
        assert func.__name__ == name.replace("-", "_"), f"{name} runs {func.__name__}"
    # every rule's shell line runs a declared command, from its own stage's rule file
    for smk in RULES.glob("*.smk"):
        for command in re.findall(r"python -m justeval ([a-z-]+)", smk.read_text()):
            assert COMMANDS.get(command) == smk.stem, f"{smk.name} runs {command}"


def test_the_grader_registry_is_the_one_list_of_graders():
    """The schema's enum and the worker's comparisons follow GRADER_SPECS."""
    import yaml

    from justeval.grading.runner import GRADER_SPECS
    from justeval.grading.worker import comparer

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert schema["properties"]["rule_grade"]["properties"]["grader"]["enum"] == list(GRADER_SPECS)
    for name in GRADER_SPECS:
        assert callable(comparer(name))
