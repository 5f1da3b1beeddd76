"""The rule files' Python is linted (tests/lint_rule_files.py): the real ones are clean,
and what the linter is for is found in a planted copy, at the right file and line."""

from __future__ import annotations

import shutil
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tests"))
from lint_rule_files import lint  # noqa: E402


def test_the_rule_files_are_clean():
    assert lint(ROOT / "Snakefile") == []


def test_the_linter_finds_undefined_names_dead_functions_and_unused_imports(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "workflow" / "rules", project / "workflow" / "rules")
    shutil.copy(ROOT / "Snakefile", project / "Snakefile")
    inputs = project / "workflow" / "rules" / "inputs.smk"
    lines = inputs.read_text().splitlines()
    planted = [
        "import json",
        "",
        "",
        "def primary_layout(wildcards=None):",
        '    return {"version": REPORT_VERSION}',
    ]
    inputs.write_text("\n".join([*lines, "", "", *planted]) + "\n")
    first = len(lines) + 3  # the planted import's line
    findings = lint(project / "Snakefile")
    where = str(project / "workflow" / "rules" / "inputs.smk")
    assert f"{where}:{first}: F401 `json` imported but unused" in findings
    assert f"{where}:{first + 4}: F821 Undefined name `REPORT_VERSION`" in findings
    assert f"{where}:{first + 3}: dead function 'primary_layout': nothing calls or names it" in findings
    assert len(findings) == 3, findings
