"""Lint the Python inside the Snakefile and its rule files (ruff cannot read `.smk`).

    python tests/lint_rule_files.py [Snakefile]

Snakemake's own parser turns each file into the Python it executes; the Snakefile and
the files it includes are joined in include order, as Snakemake runs them in one
namespace, and:

- ruff's pyflakes and bugbear rules run over the result, with the names Snakemake puts
  into a Snakefile's namespace (``workflow``, ``config``, ``expand``, ...) as builtins:
  an undefined name (a function reading a constant nothing defines), an unused
  import or variable, a redefinition;
- a function defined at the top level of a rule file that nothing calls or names is
  reported as dead.

Findings name the rule file and its line; exit status 1 when there is any. `.ci/run`
runs it beside ruff, snakefmt and ``snakemake --lint``; ``tests/unit/test_rule_files.py``
checks it finds what it should.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES = "F,B"  # pyflakes and bugbear: what is wrong, not how it is laid out
INCLUDE = re.compile(r"""^\s*workflow\.include\(\s*(['"])(?P<path>.+?)\1""")


def _snakemake_names() -> list[str]:
    """Names a Snakefile's code may use without defining them."""
    import snakemake.api  # noqa: F401 (imports snakemake.workflow without a cycle)
    import snakemake.workflow

    injected = [
        "workflow", "config", "rules", "checkpoints", "scatter", "gather", "storage", "access",
        "shell", "github", "gitlab", "gitfile", "from_queue", "pep",
    ]  # fmt: skip
    return sorted(set(dir(snakemake.workflow)) | set(injected))


def _compile(path: Path) -> tuple[list[str], dict[int, int]]:
    """The Python Snakemake makes of one file, as lines, and compiled line -> source line."""
    from snakemake.parser import parse
    from snakemake.sourcecache import LocalSourceFile

    class _Sources:
        def open(self, source):
            return open(source.get_path_or_uri(secret_free=True), encoding="utf-8")

    class _Workflow:
        sourcecache = _Sources()

    linemap: dict[int, int] = {}
    code, _ = parse(LocalSourceFile(str(path)), _Workflow(), linemap)
    return code.splitlines(), linemap


def joined_code(snakefile: Path) -> tuple[str, list[tuple[Path, int]]]:
    """The Snakefile with each ``include:`` replaced by its file's code (recursively), and
    for each line of the result the file and line it comes from."""
    lines, linemap = _compile(snakefile)
    out: list[str] = []
    where: list[tuple[Path, int]] = []
    closing = False  # inside a workflow.include( call, whose ")" ends some lines later
    for number, line in enumerate(lines, start=1):
        if closing:
            closing = line.strip() != ")"
            continue
        match = INCLUDE.match(line)
        if match:
            included = (snakefile.parent / match.group("path")).resolve()
            code, origins = joined_code(included)
            out += code.splitlines()
            where += origins
            closing = not line.rstrip().endswith(")")
            continue
        out.append(line)
        where.append((snakefile, linemap.get(number, number)))
    return "\n".join(out) + "\n", where


def _ruff(code: str) -> list[dict]:
    builtins = json.dumps(_snakemake_names())
    proc = subprocess.run(
        [
            sys.executable, "-m", "ruff", "check", "--isolated", "--select", RULES,
            "--config", f"builtins = {builtins}", "--output-format", "json",
            "--stdin-filename", "rules.py", "-",
        ],
        input=code, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"ruff failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout or "[]")


def _dead_functions(code: str) -> list[tuple[int, str]]:
    """Top-level functions (rule functions aside) that no code calls or names."""
    tree = ast.parse(code)
    defined = {
        node.name: node.lineno
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("__rule_")
    }
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return [(line, name) for name, line in defined.items() if name not in used]


def lint(snakefile: Path) -> list[str]:
    """Every finding, one line each: ``file:line: code message``."""
    code, where = joined_code(snakefile)

    def place(line: int) -> str:
        path, source_line = where[line - 1]
        with contextlib.suppress(ValueError):
            path = path.relative_to(ROOT)
        return f"{path}:{source_line}"

    findings = [f"{place(f['location']['row'])}: {f['code']} {f['message']}" for f in _ruff(code)]
    findings += [
        f"{place(line)}: dead function {name!r}: nothing calls or names it"
        for line, name in _dead_functions(code)
    ]
    return findings


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    snakefile = Path(argv[0]) if argv else ROOT / "Snakefile"
    findings = lint(snakefile.resolve())
    for line in findings:
        print(line)
    print(f"rule files: {len(findings)} finding(s)", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
