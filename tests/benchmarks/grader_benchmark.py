"""Rule grader benchmark: justeval's grader against math-verify on the same long responses.

    python tests/benchmarks/grader_benchmark.py [--n 10000] [--jobs N] [--chars 30000]

Builds N realistic long responses from the gold answers of the nine benchmarks
in ../shared/benchmarks: an equivalent rewrite of the gold (sympy printings,
decimals, unreduced fractions, labels, units, reordered lists, ...), a wrong
answer (a perturbed value), no box at all, or a box cut off by the length
limit, each behind about --chars characters of reasoning that quotes the
problem and contains earlier, intermediate boxes. Rewrites are produced by
construction, so an equivalent answer is equivalent and a wrong one is wrong.

Prints, for justeval's grader (one worker and all cores, cold memo and warm)
and for math-verify 0.9 (its own extraction and comparison on the whole
response, one process and all cores): accepted-equivalent %, rejected-wrong %,
responses per second, time per layer, p50/p99 latency, timeouts and the
slowest cases. This is a benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
import zlib
from collections import Counter
from fractions import Fraction
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "workflow"))

from justeval.grading.runner import Grader  # noqa: E402
from justeval.sources.benchmarks import prepare  # noqa: E402

BENCHMARKS = ROOT.parent / "shared" / "benchmarks"
NAMES = ["AIME24", "AIME25", "AMC23", "MATH-500", "Minerva", "Olympiad-Bench", "BRUMO25", "CMIMC25", "HMMT25"]
KINDS = [("equivalent", 0.45), ("wrong", 0.40), ("unboxed", 0.075), ("truncated", 0.075)]


# ---------------------------------------------------------------- rewrites


_NUMBER = re.compile(r"^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_UNCLEAN = re.compile(
    r"[a-zA-Z}]\(|\\(?:ddot|dot|prime|angle|mathrm|operatorname)|'|=|,|\\text|\\cup|\\in|<|>|\\le|\\ge|\\pm"
)


def _sympy(gold: str):
    """The gold as a sympy expression, or None where a faithful reading is not
    certain (text, sets, intervals, equations, function applications, ...)."""
    import sympy
    from latex2sympy2_extended import latex2sympy

    if _NUMBER.match(gold):
        return sympy.Rational(Fraction(gold).numerator, Fraction(gold).denominator)
    if _UNCLEAN.search(gold) or re.search(r"\d[eE][+-]?\d|%|\d_", gold):
        return None  # e-notation, percent and base subscripts read differently in latex2sympy
    try:
        expr = latex2sympy(gold)
    except Exception:
        return None
    if not isinstance(expr, sympy.Expr) or expr.has(sympy.Symbol("\\infty")):
        return None
    if not expr.free_symbols:
        value = sympy.nsimplify(expr.doit())
        if value.is_Rational and abs(value) < sympy.Integer(10) ** 60:
            return value
    if any(len(str(s)) > 1 and "_" not in str(s) for s in expr.free_symbols):
        return None  # a multi-letter symbol: the reading is doubtful
    if re.search(r"[A-Z]", re.sub(r"\\[a-zA-Z]+", "", gold)):
        return None  # latex2sympy lowercases some capitals: C and c would merge
    return expr


def _same(form: str, expr) -> bool | None:
    """Whether a printed form reads back as the expression (None: cannot tell)."""
    import sympy
    from latex2sympy2_extended import latex2sympy

    try:
        return bool(sympy.simplify(latex2sympy(form) - expr) == 0)
    except Exception:
        return None


def _is_rational(expr) -> bool:
    return bool(expr.is_Rational)


def equivalent_forms(gold: str, rng: random.Random) -> list[str]:
    import sympy

    forms = [gold, f"${gold}$", f"\\left({gold}\\right)" if "," not in gold else gold]
    expr = _sympy(gold)
    if expr is not None and not expr.free_symbols and _is_rational(expr):
        value = Fraction(int(expr.p), int(expr.q))
        if value.denominator == 1:
            n = value.numerator
            forms += [f"{n}.0", f"\\frac{{{2 * n}}}{{2}}", f"x = {n}", f"{n} \\text{{ units}}", f"{n:,}"]
        else:
            p, q = value.numerator, value.denominator
            forms += [f"\\dfrac{{{p}}}{{{q}}}", f"{p}/{q}", f"\\frac{{{3 * p}}}{{{3 * q}}}"]
            if 10**12 % q == 0 and abs(value) > Fraction(1, 10**6):
                forms.append(str(float(value)))
            else:
                forms.append(f"{float(value):.10g}")  # within the 1e-6 relative tolerance
    elif expr is not None:
        candidates = []
        try:
            for variant in (expr, sympy.expand(expr), sympy.factor(expr), sympy.radsimp(expr)):
                candidates.append(sympy.latex(variant))
            if not expr.free_symbols and not sympy.nsimplify(expr.doit()).is_Integer:
                value = sympy.N(expr, 15)
                if value.is_real and value != 0:
                    forms.append(f"{float(value):.10g}")
        except Exception:
            pass
        forms += [c for c in candidates if _same(c, expr)]
    if "," in gold and "(" not in gold and "[" not in gold and not re.fullmatch(r"\d{1,3}(,\d{3})+", gold):
        items = [p.strip() for p in gold.split(",")]
        rng.shuffle(items)
        forms.append(", ".join(items))
    if gold.startswith("\\text{") and gold.endswith("}"):
        forms += [gold[6:-1], gold[6:-1].lower(), gold[6:-1].upper()]
    return list(dict.fromkeys(f for f in forms if f.strip()))


def wrong_forms(gold: str, rng: random.Random) -> list[str]:
    import sympy

    expr = _sympy(gold)
    forms = []
    if expr is not None and not expr.free_symbols and _is_rational(expr):
        value = Fraction(int(expr.p), int(expr.q))
        for delta in (1, -1, 2, 10, Fraction(1, 2)):
            wrong = value + delta
            forms.append(
                str(wrong.numerator)
                if wrong.denominator == 1
                else f"\\frac{{{wrong.numerator}}}{{{wrong.denominator}}}"
            )
        forms.append(str(-value) if value else "1")
    elif expr is not None:
        for wrong in (expr + 1, 2 * expr, expr - sympy.Rational(1, 3)):
            try:
                text = sympy.latex(wrong)
            except Exception:
                continue
            if _same(text, expr) is False:
                forms.append(text)
    else:
        digits = re.findall(r"\d+", gold)
        if digits:  # the first number: later ones may sit in a unit (inches^2)
            forms.append(gold.replace(digits[0], str(int(digits[0]) + 1), 1))
        if gold.startswith("\\text{"):
            forms.append("\\text{Nobody}")
        elif not digits:
            forms.append(f"2\\left({gold}\\right)" if "=" not in gold else gold.replace("=", "= 2+", 1))
    return [f for f in forms if f.strip() and f != gold]


# ---------------------------------------------------------------- responses


def reasoning(problem: str, chars: int, rng: random.Random) -> str:
    steps = [
        f"Let me restate the problem. {problem}",
        "First, set up the quantities and check small cases by hand.",
        "We compute $\\frac{a+b}{2} \\ge \\sqrt{ab}$ for positive $a, b$, with equality iff $a=b$.",
        f"Substituting back, the intermediate value is $\\boxed{{{rng.randint(2, 999)}}}$, "
        "but we must double-check it.",
        "Wait, that step used the wrong sign; let us redo the computation carefully.",
        "Expanding, $(x+1)^2 = x^2 + 2x + 1$, so the terms telescope.",
    ]
    out, size = [], 0
    while size < chars:
        step = rng.choice(steps)
        out.append(step)
        size += len(step) + 2
    return "\n\n".join(out)


def make_cases(n: int, chars: int, seed: int):
    rng = random.Random(seed)
    golds = []
    for name in NAMES:
        frame, _ = prepare(name, str(BENCHMARKS / name / "test.parquet"), None, None)
        golds.extend(zip(frame["answer"], frame["problem"], strict=True))
    forms_cache: dict = {}
    cases = []
    kinds, weights = zip(*KINDS, strict=True)
    while len(cases) < n:
        gold, problem = rng.choice(golds)
        kind = rng.choices(kinds, weights)[0]
        if (gold, kind) not in forms_cache:
            maker = wrong_forms if kind == "wrong" else equivalent_forms
            forms_cache[(gold, kind)] = maker(gold, random.Random(zlib.crc32(gold.encode())))
        forms = forms_cache[(gold, kind)]
        if not forms:
            continue
        answer = rng.choice(forms)
        body = reasoning(problem, chars, rng)
        if kind == "unboxed":
            response = f"{body}\n\nTherefore the final answer is {answer}."
        elif kind == "truncated":
            response = (
                f"{body}\n\nTherefore the final answer is $\\boxed{{{answer[: max(1, len(answer) // 2)]}"
            )
        else:
            response = f"{body}\n\nTherefore the final answer is $\\boxed{{{answer}}}$."
        cases.append((gold, response, kind))
    return cases


# ---------------------------------------------------------------- graders


def summarize(name: str, cases, accepted: list[bool], seconds: float, extra: str = "") -> dict:
    def rate(kind: str, want: bool) -> float:
        got = [a for (_, _, k), a in zip(cases, accepted, strict=True) if k == kind]
        return 100 * sum(a == want for a in got) / len(got)

    row = {
        "grader": name,
        "accept_equivalent": rate("equivalent", True),
        "reject_wrong": rate("wrong", False),
        "reject_unboxed": rate("unboxed", False),
        "reject_truncated": rate("truncated", False),
        "per_second": len(cases) / seconds,
    }
    print(
        f"{name:44s} equivalent accepted {row['accept_equivalent']:6.2f}% | wrong rejected "
        f"{row['reject_wrong']:6.2f}% | unboxed rejected {row['reject_unboxed']:6.2f}% | "
        f"cut-off box rejected {row['reject_truncated']:6.2f}% | {row['per_second']:7.0f} responses/s "
        f"({seconds:.2f} s){extra}"
    )
    return row


def run_justeval(cases, jobs: int, label: str, timeout: float):
    grader = Grader("justeval", timeout=timeout, jobs=jobs)
    golds = [g for g, _, _ in cases]
    responses = [r for _, r, _ in cases]
    grader.grade(golds[:1], ["\\boxed{\\sqrt{2}}"])  # start the workers outside the timing
    grader.memo.clear()
    grader.stats = type(grader.stats)()
    start = time.perf_counter()
    results = grader.grade(golds, responses)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    grader.grade(golds, responses)
    warm = time.perf_counter() - start
    accepted = [r.rule_correct for r in results]
    timeouts = sum(r.status == "timeout" for r in results)
    summarize(f"justeval, {label}, cold memo", cases, accepted, cold, f", {timeouts} timeouts")
    summarize(f"justeval, {label}, warm memo", cases, accepted, warm)
    return grader, results, cold


def latency(cases, timeout: float, sample: int = 2000):
    """Per-response latency, one response at a time, fresh memo (includes IPC to workers)."""
    grader = Grader("justeval", timeout=timeout, jobs=1)
    grader.grade(["1"], ["\\boxed{\\sqrt{2}}"])
    times = []
    for gold, response, _ in cases[:sample]:
        start = time.perf_counter()
        grader.grade([gold], [response])
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.99)], times[-1]


def _mv_one(args):
    from math_verify import parse, verify

    gold, response = args
    try:
        return bool(verify(parse(f"${gold}$"), parse(response)))
    except Exception:
        return False


def run_math_verify(cases, jobs: int):
    tasks = [(g, r) for g, r, _ in cases]
    start = time.perf_counter()
    if jobs == 1:
        accepted = [_mv_one(t) for t in tasks]
    else:
        with Pool(jobs) as pool:
            accepted = pool.map(_mv_one, tasks, chunksize=64)
    seconds = time.perf_counter() - start
    label = "one process" if jobs == 1 else f"{jobs} processes"
    summarize(f"math-verify 0.9, whole response, {label}", cases, accepted, seconds)
    return accepted


def run_math_verify_on_boxes(cases, jobs: int, timeout: float):
    """math-verify's comparison on justeval's extraction (the `math_verify` grader)."""
    grader = Grader("math_verify", timeout=timeout, jobs=jobs)
    grader.grade(["1"], ["\\boxed{1}"])
    start = time.perf_counter()
    results = grader.grade([g for g, _, _ in cases], [r for _, r, _ in cases])
    seconds = time.perf_counter() - start
    timeouts = sum(r.status == "timeout" for r in results)
    summarize(
        f"math-verify 0.9, last box, {jobs} worker(s)",
        cases,
        [r.rule_correct for r in results],
        seconds,
        f", {timeouts} timeouts",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--chars", type=int, default=30_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-math-verify", action="store_true")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)

    start = time.perf_counter()
    cases = make_cases(args.n, args.chars, args.seed)
    kinds = Counter(k for _, _, k in cases)
    mean_len = statistics.mean(len(r) for _, r, _ in cases)
    print(
        f"{len(cases)} responses ({dict(kinds)}), mean {mean_len:,.0f} characters, "
        f"{len({g for g, _, _ in cases})} distinct golds; built in {time.perf_counter() - start:.1f} s; "
        f"{os.cpu_count()} cores"
    )
    print()
    grader, results, _ = run_justeval(cases, 1, "1 worker", args.timeout)
    if args.jobs > 1:
        run_justeval(cases, args.jobs, f"{args.jobs} workers", args.timeout)
    stats = grader.stats
    print()
    print("justeval layers (cold run, 1 worker): responses decided / time spent")
    for layer, count in stats.layer_counts.most_common():
        print(f"  {layer:10s} {count:6d}   {stats.layer_seconds[layer]:7.3f} s")
    print(
        f"  distinct (gold, answer) pairs: {stats.distinct_pairs}, sent to workers: {stats.sent_to_workers}"
    )
    p50, p99, worst = latency(cases, args.timeout)
    print(
        f"latency per response (2,000, one at a time): p50 {p50 * 1e3:.3f} ms, "
        f"p99 {p99 * 1e3:.3f} ms, max {worst * 1e3:.1f} ms"
    )
    print("slowest comparisons:")
    for seconds, layer, (gold, answer) in stats.slowest[:5]:
        print(f"  {seconds * 1e3:8.1f} ms  {layer:9s} gold={gold[:50]!r} answer={answer[:50]!r}")
    wrong = [(c, r) for c, r in zip(cases, results, strict=True) if r.rule_correct != (c[2] == "equivalent")]
    print(f"justeval disagreements with the construction: {len(wrong)}")
    for (gold, _, kind), r in wrong[:12]:
        print(
            f"  {kind:10s} gold={gold[:60]!r} answer={str(r.extracted_answer)[:60]!r} -> {r.status}/{r.layer}"
        )
    if not args.skip_math_verify:
        print()
        mv = run_math_verify(cases, 1)
        if args.jobs > 1:
            run_math_verify(cases, args.jobs)
        run_math_verify_on_boxes(cases, args.jobs, args.timeout)
        both = Counter((k, a, r.rule_correct) for (_, _, k), a, r in zip(cases, mv, results, strict=True))
        print(
            "math-verify vs justeval on equivalent answers (mv, justeval): "
            f"{ {(a, b): n for (k, a, b), n in both.items() if k == 'equivalent'} }"
        )


if __name__ == "__main__":
    main()
