"""Rule grading as whole processes: start-up, Parquet read, grading and write, timed together.

    python tests/benchmarks/rule_grade_process_benchmark.py [--n 6000] [--chars 30000] [--runs 5]
        [--mv-rows 500] [--baseline-rev HEAD] [--workdir DIR] [--skip-baseline] [--skip-math-verify]

Builds --n realistic long responses (about --chars characters each) with the
response builder of grader_benchmark.py (equivalent rewrites, wrong values,
unboxed answers, cut-off boxes, all behind long reasoning with earlier boxes)
into one Parquet file with a gold column (``answer``) and a ``response``
column, then runs on that same file, in the same rounds (each round runs every
command once, in a rotating order, after one warm-up round that is not counted):

* ``python -m justeval rule-grade IN OUT --jobs 1``: justeval's grader, this tree;
* the same with ``--grader justrl`` (JustRL's grader through the mathruler adapter);
* the same command from committed code (``git archive --baseline-rev``), the baseline;
* while this tree's rule-grade plumbing (stages/rule_grade.py, io/parquet.py, the
  grading pool and worker) differs from the baseline's: both justeval commands
  again on the baseline's plumbing with this tree's grader logic ("old
  plumbing"), which isolates the plumbing's speed-up and must give the very
  same verdicts;
* math-verify on the whole response (``parse`` + ``verify``), a standalone
  one-process script, on the first --mv-rows rows only (it does ~50-70 responses/s);
* JustRL's grader as JustRL runs it: a standalone script that reads the file and
  calls ``mathruler.grader.grade_answer(last_box, gold)``, one process, no deadline.

It prints wall seconds (min / median / max), CPU seconds (with the workers'),
peak memory, responses per second at the median wall time, the speed-ups over
the baseline and over the old plumbing (per round, then their median), the
verdict counts of every command, and how many rows this tree's and the
baseline's justeval verdicts differ on (information: grader rules change
between commits). It raises if repeated runs of a command give different
verdicts, or if the old plumbing's verdicts differ from this tree's. A
benchmark, not a test.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PACKAGE = ROOT / "workflow" / "justeval"
# the files of the rule-grade plumbing; the rest of the package decides the verdicts
PLUMBING = [
    "stages/rule_grade.py",
    "io/parquet.py",
    "grading/pool.py",
    "grading/worker.py",
    "grading/runner.py",
]

MATH_VERIFY_SCRIPT = r'''
"""math-verify on the whole response: parse the gold and the response, verify."""
import sys
import pyarrow as pa
import pyarrow.parquet as pq
from math_verify import parse, verify

source, output, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
table = pq.read_table(source, columns=["answer", "response"])
if rows:
    table = table.slice(0, rows)
verdicts = []
for gold, response in zip(table["answer"].to_pylist(), table["response"].to_pylist()):
    try:
        verdicts.append(bool(verify(parse(f"${gold}$"), parse(response or ""))))
    except Exception:
        verdicts.append(False)
pq.write_table(pa.table({"rule_correct": verdicts}), output)
'''

MATHRULER_SCRIPT = r'''
"""JustRL's grader as JustRL runs it: the last box of the response, mathruler's grade_answer."""
import sys
import pyarrow as pa
import pyarrow.parquet as pq
from mathruler.grader import grade_answer


def last_box(text):
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    brace = text.find("{", start)
    if brace < 0:
        return None
    depth = 0
    for i in range(brace, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[brace + 1 : i]
    return None


source, output = sys.argv[1], sys.argv[2]
table = pq.read_table(source, columns=["answer", "response"])
verdicts = []
for gold, response in zip(table["answer"].to_pylist(), table["response"].to_pylist()):
    answer = last_box(response or "")
    verdicts.append(answer is not None and bool(grade_answer(answer, gold)))
pq.write_table(pa.table({"rule_correct": verdicts}), output)
'''

# Only while the baseline's pool has no submit/collect: the baseline's plumbing under
# this tree's runner, which hands pairs over one by one and collects them after.
OLD_POOL_SHIM = """

def _submit(self, tasks):
    later = self.__dict__.setdefault("_later", [])
    later.extend(tasks)
    return list(range(len(later) - len(tasks), len(later)))


def _collect(self, ids, progress=None):
    later = self.__dict__.pop("_later", [])
    return self.run([later[i] for i in ids], progress) if ids else []


GradingPool.submit = _submit
GradingPool.collect = _collect
"""

VERDICT_COLUMNS = ["extracted_answer", "rule_correct", "status", "layer"]


@dataclass
class Command:
    argv: list[str]
    env: dict
    output: Path
    rows: int  # rows it grades
    justeval: bool  # writes justeval's verdict columns (else rule_correct only)
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)
    digests: set[str] = field(default_factory=set)
    counts: Counter = field(default_factory=Counter)

    def verdicts(self) -> dict[str, list]:
        import pyarrow.parquet as pq

        columns = VERDICT_COLUMNS if self.justeval else ["rule_correct"]
        table = pq.read_table(self.output, columns=columns)
        return {c: table[c].to_pylist() for c in columns}


def build_input(path: Path, n: int, chars: int, seed: int) -> None:
    """The benchmark file; run in a child process (``--build``), so that this one
    stays small: a child's peak memory counts this process's size when it forks."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sys.path.insert(0, str(HERE))
    import grader_benchmark

    start = time.perf_counter()
    cases = grader_benchmark.make_cases(n, chars, seed)
    table = pa.table({"answer": [g for g, _, _ in cases], "response": [r for _, r, _ in cases]})
    meta = {b"benchmark": _key(n, chars, seed), b"kinds": json.dumps([k for _, _, k in cases]).encode()}
    pq.write_table(table.replace_schema_metadata(meta), path)
    print(f"built {path} in {time.perf_counter() - start:.1f} s")


def _key(n: int, chars: int, seed: int) -> bytes:
    return json.dumps({"n": n, "chars": chars, "seed": seed}).encode()


def input_kinds(path: Path, n: int, chars: int, seed: int) -> list[str]:
    """The kinds of the rows of the benchmark file, built first unless it is there."""
    import pyarrow.parquet as pq

    if not path.exists() or (pq.read_schema(path).metadata or {}).get(b"benchmark") != _key(n, chars, seed):
        argv = [__file__, "--build", str(path), "--n", str(n), "--chars", str(chars), "--seed", str(seed)]
        subprocess.run([sys.executable, *argv], check=True)
    else:
        print(f"reusing {path}")
    return json.loads(pq.read_schema(path).metadata[b"kinds"])


def extract_tree(rev: str, target: Path) -> str:
    """The package as committed at ``rev``, under ``target``/workflow; its short commit."""
    git = ["git", "-C", str(ROOT)]
    commit = subprocess.run([*git, "rev-parse", "--short", rev], capture_output=True, text=True, check=True)
    archive = subprocess.run(
        [*git, "archive", "--format=tar", rev, "workflow/justeval"], capture_output=True, check=True
    )
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return commit.stdout.strip()


def plumbing_variant(baseline: Path, target: Path) -> bool:
    """This tree's package with the baseline's plumbing, under ``target``/justeval;
    False when the plumbing is the same (nothing to measure)."""
    old = baseline / "workflow" / "justeval"
    if not all((old / f).is_file() for f in PLUMBING):
        print("the baseline's package has another layout: no old-plumbing variant")
        return False
    if all((old / f).read_bytes() == (PACKAGE / f).read_bytes() for f in PLUMBING):
        return False
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(PACKAGE, target / "justeval", ignore=shutil.ignore_patterns("__pycache__"))
    for name in PLUMBING:
        if name != "grading/runner.py":  # this tree's runner: it holds grader logic too
            shutil.copy(old / name, target / "justeval" / name)
    pool = target / "justeval" / "grading" / "pool.py"
    if "def submit" not in pool.read_text():
        pool.write_text(pool.read_text() + OLD_POOL_SHIM)
    return True


def run_once(command: Command, log: Path) -> None:
    """Run the command as a whole process; record its wall and CPU seconds (its own and
    its reaped children's: the grading workers), its peak memory and its verdicts."""
    with open(log, "w") as fh:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command.argv, env=command.env, stdout=fh, stderr=subprocess.STDOUT, cwd=log.parent
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command.argv)} failed:\n{log.read_text()[-3000:]}")
    columns = command.verdicts()
    command.digests.add(hashlib.sha256(json.dumps(columns).encode()).hexdigest())
    command.counts = Counter(columns["status"] if command.justeval else columns["rule_correct"])
    command.walls.append(wall)
    command.cpus.append(usage.ru_utime + usage.ru_stime)
    command.peaks.append(usage.ru_maxrss / 1024)


def spread(values: list[float]) -> str:
    return f"{min(values):6.2f} {statistics.median(values):6.2f} {max(values):6.2f}"


def differing(a: dict[str, list], b: dict[str, list]) -> tuple[int, dict[str, int]]:
    """Rows whose rule_correct or status differ; differing values per column."""
    rows = sum(
        (x, y) != (u, v)
        for x, y, u, v in zip(a["rule_correct"], a["status"], b["rule_correct"], b["status"], strict=True)
    )
    return rows, {c: sum(x != y for x, y in zip(a[c], b[c], strict=True)) for c in VERDICT_COLUMNS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=6000)
    parser.add_argument("--chars", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=5, help="counted rounds (one warm-up round first)")
    parser.add_argument("--mv-rows", type=int, default=500, help="rows math-verify grades (0: all)")
    parser.add_argument("--baseline-rev", default="HEAD", help="the commit to compare with")
    parser.add_argument("--workdir", help="keep the input (reused when alike), the trees and the logs here")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-math-verify", action="store_true")
    parser.add_argument("--build", help=argparse.SUPPRESS)  # internal: build the input file only
    args = parser.parse_args()
    if args.build:
        build_input(Path(args.build), args.n, args.chars, args.seed)
        return

    work = Path(args.workdir or tempfile.mkdtemp(prefix="rule-grade-bench-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    source = work / "in.parquet"
    kinds = input_kinds(source, args.n, args.chars, args.seed)
    rows = len(kinds)
    (work / "math_verify_whole.py").write_text(MATH_VERIFY_SCRIPT)
    (work / "justrl_mathruler.py").write_text(MATHRULER_SCRIPT)

    py = sys.executable
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    tree_env = {**env, "PYTHONPATH": str(ROOT / "workflow")}
    cli = [py, "-m", "justeval", "rule-grade", str(source)]
    commands: dict[str, Command] = {}

    def add(name: str, argv: list[str], cmd_env: dict, graded: int = rows) -> None:
        out = work / f"out-{len(commands)}.parquet"
        justeval = argv[:3] == cli[:3]
        full = [*argv[:5], str(out), *argv[5:]] if justeval else [*argv[:3], str(out), *argv[3:]]
        commands[name] = Command(full, cmd_env, out, graded, justeval)

    justeval, justrl = [*cli, "--jobs", "1"], [*cli, "--jobs", "1", "--grader", "justrl"]
    add("justeval", justeval, tree_env)
    probe = "import mathruler.grader; from justeval.grading.justrl import extract_answer, justrl_equal"
    has_justrl = subprocess.run([py, "-c", probe], env=tree_env, capture_output=True).returncode == 0
    if has_justrl:
        add("justeval --grader justrl", justrl, tree_env)
    else:
        print("(no --grader justrl run: mathruler or the justrl adapter is missing)")
    before: dict[str, str] = {}  # command -> the command it is compared with
    base_name = None
    if not args.skip_baseline:
        commit = extract_tree(args.baseline_rev, work / "baseline")
        base_name = f"justeval, baseline {commit}"
        add(base_name, justeval, {**env, "PYTHONPATH": str(work / "baseline" / "workflow")})
        before["justeval"] = base_name
        if plumbing_variant(work / "baseline", work / "plumbing"):
            old_env = {**env, "PYTHONPATH": str(work / "plumbing")}
            before["justeval"] = "justeval, old plumbing"
            add(before["justeval"], justeval, old_env)
            if has_justrl:
                before["justeval --grader justrl"] = "--grader justrl, old plumbing"
                add(before["justeval --grader justrl"], justrl, old_env)
    if not args.skip_math_verify:
        mv_rows = min(args.mv_rows or rows, rows)
        argv = [py, str(work / "math_verify_whole.py"), str(source), str(mv_rows)]
        add("math-verify, whole response", argv, env, mv_rows)
    add("JustRL's grader (mathruler)", [py, str(work / "justrl_mathruler.py"), str(source)], env)

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(
        f"{rows} responses ({dict(Counter(kinds))}), about {args.chars:,} characters each, "
        f"{source.stat().st_size / 1e6:.1f} MB on disk; {os.cpu_count()} cores, {memory:.0f} GiB; "
        f"{args.runs} counted rounds after one warm-up round; logs in {work}"
        + (f"; 'old plumbing': this tree's grader on {args.baseline_rev}'s plumbing" if before else ""),
        flush=True,
    )
    names = list(commands)
    for round_ in range(args.runs + 1):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            run_once(commands[name], work / f"log-{names.index(name)}.txt")
        if not round_:
            for command in commands.values():  # the warm-up round is not counted
                command.walls, command.cpus, command.peaks = [], [], []
        label = f"round {round_}" if round_ else "warm-up"
        times = ", ".join(f"{n} {commands[n].walls[-1]:.2f} s" for n in names) if round_ else "done"
        print(f"  {label}: {times}", flush=True)

    def speedup(name: str, reference: str | None) -> str:
        if reference is None or reference == name or commands[name].rows != commands[reference].rows:
            return ""
        paired = [b / a for a, b in zip(commands[name].walls, commands[reference].walls, strict=True)]
        return f"{statistics.median(paired):.2f}x ({min(paired):.2f}-{max(paired):.2f})"

    print()
    print(
        f"{'whole process':34s} {'rows':>5s} | wall s: min median  max | cpu s | peak MiB | "
        "responses/s | speed-up (median of rounds; range): over the baseline | over the old plumbing"
    )
    for name, command in commands.items():
        rate = command.rows / statistics.median(command.walls)
        plumbing = speedup(name, before.get(name)) if before.get(name) != base_name else ""
        print(
            f"{name:34s} {command.rows:5d} | {spread(command.walls)} | "
            f"{statistics.median(command.cpus):5.2f} | {statistics.median(command.peaks):8.0f} | "
            f"{rate:11,.0f} | {speedup(name, base_name):17s} | {plumbing}"
        )
    print()
    print("verdicts (statuses; rule_correct for the standalone scripts):")
    for name, command in commands.items():
        same = (
            "every run alike" if len(command.digests) == 1 else f"{len(command.digests)} DIFFERENT versions"
        )
        print(f"  {name:34s} {dict(command.counts.most_common())} ({same})")
    new = commands["justeval"].verdicts()
    accepted = Counter(zip(kinds, new["rule_correct"], strict=True))
    print(
        "justeval against the construction: "
        + ", ".join(
            f"{k} accepted {accepted[k, True]}/{accepted[k, True] + accepted[k, False]}"
            for k in ("equivalent", "wrong", "unboxed", "truncated")
        )
    )
    problems = [
        f"{n}: repeated runs gave different verdicts" for n, c in commands.items() if len(c.digests) != 1
    ]
    for name, reference in before.items():
        if reference == base_name:
            continue
        count, per_column = differing(commands[name].verdicts(), commands[reference].verdicts())
        print(f"{name} vs {reference} (same grader logic): {count} rows differ (by column: {per_column})")
        if any(per_column.values()):
            problems.append(f"{name}: the plumbing changed verdicts: {per_column}")
    if base_name:
        count, per_column = differing(new, commands[base_name].verdicts())
        print(
            f"justeval vs {base_name}: {count} of {rows} rows differ in rule_correct or status "
            f"(by column: {per_column}); the grader's rules may differ between the two trees"
        )
    if "justeval --grader justrl" in commands:
        mine = commands["justeval --grader justrl"].verdicts()["rule_correct"]
        theirs = commands["JustRL's grader (mathruler)"].verdicts()["rule_correct"]
        differ = sum(a != b for a, b in zip(mine, theirs, strict=True))
        print(
            f"justeval --grader justrl vs the standalone mathruler script: {differ} of {rows} verdicts differ"
        )
    if problems:
        raise SystemExit("; ".join(problems))


if __name__ == "__main__":
    main()
