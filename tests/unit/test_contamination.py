"""The overlap classifier on real data: copies and look-alikes of the hand-labelled LIMR
pairs, copies and look-alikes planted (made by code from the real benchmark problems),
the nine benchmarks against each other, and the LSH candidates against the exact
all-pairs computation."""

from __future__ import annotations

import csv
import functools
import json
import random
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import BENCHMARK_NAMES, SHARED, prepared_benchmarks
from justeval.analysis import contamination as C
from justeval.sources.training_sets import TrainingSet, read_training_set

LIMR = SHARED / "training-sets" / "limr-math8k"
SUFFIX = " Let's think step by step and output the final answer within \\boxed{}."
PREFIX = (
    "Solve the following math problem. Make sure to put the answer (and only answer) inside \\boxed{}.\n\n"
)


def benchmark_items() -> dict[str, list[C.Item]]:
    return {
        name: [C.Item(r.problem_id, r.problem, r.answer, r.source_row) for r in frame.itertuples()]
        for name, frame in prepared_benchmarks().items()
    }


@functools.lru_cache(maxsize=1)
def limr_items() -> list[C.Item]:
    rows = json.loads((LIMR / "math.8k.json").read_text())
    return [C.Item(r["id"], r["prompt"], r["answer"], i) for i, r in enumerate(rows)]


@pytest.fixture(scope="module")
def same_answer():
    return C.answer_comparer()


@pytest.fixture(scope="module")
def limr_pairs(same_answer):
    """The nine benchmarks against LIMR's 8,523 training problems, as the stage runs it."""
    return C.find_pairs(benchmark_items(), {"limr": limr_items()}, C.Settings.defaults(), same_answer)


def labels() -> list[dict]:
    with open(LIMR / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------ normalisation


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("put twenty balls in 3 boxes", "put 20 balls in three boxes"),
        ("$1{,}000$ people", "$1000$ people"),
        ("$34,\\!650$", "$34650$"),
        ("1,000,000 lire", "1000000 lire"),
        ("In 1,992, a scoop", "In 1992, a scoop"),
        ("\\boxed{400,000}", "\\boxed{400000}"),
        ("$\\frac12 + \\tfrac{3}{4}$", "$\\frac{1}{2} + \\frac{3}{4}$"),
        ("$\\dfrac9{19}$", "$\\frac{9}{19}$"),
        ("twenty-five of one hundred and five", "25 of 105"),
        ("$x²$", "$x^2$"),
        ("\\(\\left( x \\right)\\)", "$(x)$"),
        ("$90^\\circ$", "$90^{\\circ}$"),
        ("$a\\le b$, $c \\geqslant d$", "$a \\leq b$, $c\\geq d$"),
        ("the centres", "the centers"),
        ("$\\begin{pmatrix} 2 \\\\ 6 \\end{pmatrix}$", "$\\begin{pmatrix}2\\\\\t6\\end{pmatrix}$"),
    ],
)
def test_a_respelling_gives_the_same_tokens(one, other):
    assert C.tokens(C.clean(one)) == C.tokens(C.clean(other))


def test_numbers_that_differ_stay_different():
    assert C.tokens(C.clean("5 balls in 2 boxes")) != C.tokens(C.clean("5 balls in 3 boxes"))
    assert C.tokens(C.clean("$\\{1,234\\}$")) != C.tokens(C.clean("$\\{1234\\}$"))  # a set, not a thousand


@pytest.mark.parametrize(
    "wrapped",
    [
        "{p}" + SUFFIX,
        "{p}\nPlease reason step by step, and put your final answer within \\boxed{}.",
        "Solve the following math problem step by step. The last line of your response should be of the form "
        "Answer: $Answer (without quotes) where $Answer is the answer to the problem.\n\n{p}\n\n"
        'Remember to put your answer on its own line after "Answer:".',
        PREFIX + "{p}",
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n{p}" + SUFFIX
        + "<|im_end|>\n<|im_start|>assistant\n",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{p}<|eot_id|>",
        "12. {p}",
        "(5 points) {p}",
    ],
)  # fmt: skip
@pytest.mark.parametrize(
    "problem",
    [
        "Let $x$ and $z$ be real numbers with $x+z=5$. Compute $x+z$",  # ends in a formula, no full stop
        "| Team | W | L |\n| A | 4 | 6 |",  # ends in a table row
        "Find the sum of the two.\n\\[\\frac{1}{2}\\]",
    ],
)
def test_instructions_and_chat_markup_are_stripped_and_nothing_else(wrapped, problem):
    assert C.strip_instructions(wrapped.replace("{p}", problem)) == problem


def test_a_problem_sentence_is_never_taken_for_an_instruction():
    problem = "A frog moves step by step from $0$ to $10$. Think carefully: how many paths are there?"
    assert C.strip_instructions(problem) == problem
    # Minerva's worked subproblems: "final answer" inside a problem, followed by the question
    tail = (
        "Subproblem 0: Give the cost.\n\nSolution: \\boxed{1}.\n\n"
        "Final answer: The final answer is SRAC=LRAC. I hope it is correct.\n\n"
        "Subproblem one: Write the condition which involves SRMC."
    )
    assert C.strip_instructions(tail) == tail


def test_boilerplate_is_learnt_from_the_set():
    """A preamble and a suffix on most rows, in no list of known instructions, are
    found from the set itself; a common natural opening is not boilerplate."""
    problems = [it.text for it in benchmark_items()["MATH-500"][:200]]
    rows = [f"Kindly work on this task.\n\n{p}\n\nWrite the result on a line of its own." for p in problems]
    found = C.detect_boilerplate(rows, share=0.3)
    assert found.prefixes == (("Kindly", "work", "on", "this", "task."),)
    assert found.suffixes == (("Write", "the", "result", "on", "a", "line", "of", "its", "own."),)
    assert [found.strip(r) for r in rows] == problems
    natural = [f"What is the value of {p}" for p in problems]  # shared, but no sentence ends there
    assert C.detect_boilerplate(natural).prefixes == ()
    assert C.detect_boilerplate(rows[:50] + problems[50:], share=0.3).prefixes == ()  # 25 % of rows
    assert C.detect_boilerplate(rows[:4]) == C.Boilerplate()  # too few rows to learn from


def test_answer_choices_are_a_format_and_a_letter_names_a_value(same_answer):
    stem = "What is the smallest prime greater than $20$?"
    choices = (
        " $"
        + " \\qquad ".join(f"\\textbf{{({k})}}\\ {v}" for k, v in zip("ABCD", (21, 22, 23, 29), strict=True))
        + "$"
    )
    assert C.split_choices(stem + choices) == (stem, {"A": "21", "B": "22", "C": "23", "D": "29"})
    bench = C.Item("b", stem, "23")
    assert C.classify(bench, C.Item("t", stem + choices, "\\textbf{(C)}"), None, same_answer)[0] == C.COPY
    assert C.classify(bench, C.Item("t", stem + choices, "(D)"), None, same_answer)[0] == C.LOOK_ALIKE
    assert C.classify(bench, C.Item("t", stem + choices), None, same_answer)[0] == C.COPY  # stems compared


# ------------------------------------------------------------------ the issue's examples


def test_the_examples_of_the_issue(same_answer):
    def label(a, b, answers=(None, None)):
        return C.classify(C.Item("b", a, answers[0]), C.Item("t", b, answers[1]), None, same_answer)[0]

    balls = "How many ways are there to put 5 balls in 2 boxes if the balls are not distinguishable and {}?"
    neither = balls.format("neither are the boxes")
    assert label(neither, neither.replace("2 boxes", "3 boxes")) == C.LOOK_ALIKE  # other numbers
    but = neither.replace("and neither are the boxes?", "but the boxes are?")
    assert label(neither, but) == C.LOOK_ALIKE  # one word changed
    # a number spelt another way is the same number, and an instruction suffix is not the problem
    assert label(neither, neither.replace("5", "five").replace("2", "two") + SUFFIX) == C.COPY
    assert label(neither.replace("5", "1{,}005"), neither.replace("5", "1005")) == C.COPY
    primes = "For how many two-digit primes is the sum of the digits equal to 8?"
    reworded = "For how many two-digit prime numbers is the sum of its digits 8?"
    assert label(primes, reworded + SUFFIX, ("3", "\\boxed{3}")) == C.COPY
    assert label(primes, reworded + SUFFIX, ("3", "4")) != C.COPY  # different answers: different problems
    # one sine graph, another question: not a copy
    graph = "[asy]\nreal f(real x) { return 2*sin(3*x + pi) + 1; }\ndraw(graph(f,-3*pi,3*pi),red);\n[/asy]"
    ask = (
        "Below is the graph of $y = a \\sin (bx + c) + d$ for some positive constants $a,$ $b,$ $c,$ and $d.$"
    )
    ask += " "
    assert label(ask + "Find $c.$\n\n" + graph, ask + "Find $d.$\n\n" + graph) == C.LOOK_ALIKE
    assert label(ask + "Find $c.$\n\n" + graph, ask + "Find $c.$\n\n" + graph.replace("3*x", "2*x")) == (
        C.LOOK_ALIKE  # the same words on another figure
    )
    assert label(ask + "Find $c.$\n\n" + graph, ask + "Find $c.$\n\n" + graph.replace("\n", "\n  ")) == C.COPY


def test_the_instruction_suffix_no_longer_hides_a_copy():
    """The copy the issue says was missed at 0.54: its score is the problem's alone."""
    item = benchmark_items()["MATH-500"][226]
    a, b = C.Item("b", item.text), C.Item("t", item.text + SUFFIX)
    _, _, score, _ = C.classify(a, b)
    assert score == 1.0


# ------------------------------------------------------------------ the labelled pairs


def test_copies_against_the_hand_labels(limr_pairs):
    """Precision and recall of `copy` on the 84 hand-labelled pairs (11 copies, 73
    look-alikes). Every copy found counts: one that is not labelled is a false copy."""
    truth = {
        (r["benchmark"], r["problem_id"], r["train_index"]): r["same_problem"] == "True" for r in labels()
    }
    found = {(p.benchmark, p.problem_id, str(p.other_row)) for p in limr_pairs if p.label == C.COPY}
    true_copies = {k for k, same in truth.items() if same}
    hits = found & true_copies
    precision = len(hits) / len(found)
    recall = len(hits) / len(true_copies)
    assert len(true_copies) == 11 and len(truth) == 84
    assert precision >= 0.95, sorted(found - true_copies)
    assert recall >= 0.95, sorted(true_copies - found)
    # the labelled look-alikes that are reported are reported as look-alikes
    reported = {(p.benchmark, p.problem_id, str(p.other_row)): p.label for p in limr_pairs}
    for key, same in truth.items():
        if not same and key in reported:
            assert reported[key] == C.LOOK_ALIKE, key


def test_copies_against_the_hand_labels_from_the_texts_alone():
    """With the answers hidden, the text alone decides: no look-alike is called a copy."""
    bench = {name: [C.Item(i.id, i.text) for i in items] for name, items in benchmark_items().items()}
    items = {name: {i.id: i for i in its} for name, its in bench.items()}
    limr = limr_items()
    copies = wrong = 0
    for row in labels():
        a = items[row["benchmark"]][row["problem_id"]]
        b = limr[int(row["train_index"])]
        label = C.classify(a, C.Item(b.id, b.text), None, None)[0]
        copies += label == C.COPY and row["same_problem"] == "True"
        wrong += label == C.COPY and row["same_problem"] == "False"
    assert wrong == 0
    assert copies >= 9  # 10 of 11 when measured: x^2 for y^2 in a symmetric condition needs the answer


# ------------------------------------------------------------------ candidate search


@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_lsh_proposes_what_the_exact_all_pairs_computation_finds(threshold):
    """LIMR and the nine benchmarks: every benchmark problem against every other
    problem, exactly (inverted index), and by MinHash LSH with the default settings."""
    settings = C.Settings.defaults(threshold=threshold)
    prepared = C.prepare({**benchmark_items(), "limr": limr_items()}, settings, ["limr"])
    flat = [(name, p) for name, ps in prepared.items() for p in ps]
    queries = [i for i, (name, _) in enumerate(flat) if name != "limr"]
    grams = [p.grams for _, p in flat]
    exact = C.exact_pairs([grams[i] for i in queries], grams, threshold)
    exact = {(q, j) for q, j in exact if flat[queries[q]][0] != flat[j][0]}
    lsh = C.candidates([grams[i] for i in queries], grams, threshold, settings.num_perm, settings.lsh_recall)
    assert len(exact) >= 50  # enough pairs for the figure to mean something
    recall = len(exact & lsh) / len(exact)
    assert recall >= 0.995, (len(exact), len(exact - lsh))


def test_the_exact_yardstick_is_exact():
    rng = random.Random(3)
    sets = [{rng.randrange(40) for _ in range(rng.randrange(1, 25))} for _ in range(120)]
    sets = [{str(x) for x in s} for s in sets]
    slow = {(i, j) for i in range(30) for j in range(120) if C.jaccard(sets[i], sets[j]) >= 0.4}
    assert C.exact_pairs(sets[:30], sets, 0.4) == slow


@pytest.mark.parametrize(("threshold", "num_perm"), [(0.5, 128), (0.3, 128), (0.7, 64), (0.5, 256)])
def test_lsh_bands_keep_the_promised_recall_with_the_fewest_candidates(threshold, num_perm):
    bands, rows = C.lsh_params(threshold, num_perm, 0.999)
    assert bands * rows <= num_perm
    assert 1 - (1 - threshold**rows) ** bands >= 0.999
    more = rows + 1
    assert 1 - (1 - threshold**more) ** (num_perm // more) < 0.999  # one more row would miss pairs


# ------------------------------------------------------------------ planted copies and look-alikes

MATH = re.compile(
    r"\$\$.+?\$\$|\$.+?\$|\\\(.+?\\\)|\\\[.+?\\\]|\\begin\{(\w+\*?)\}.*?\\end\{\1\}|\[asy\].*?\[/asy\]", re.S
)
WORDS = "zero one two three four five six seven eight nine ten eleven twelve".split()  # noqa: SIM905


def _prose(text, fn):
    """``fn`` applied to the text outside formulas and figures."""
    out, pos = [], 0
    for m in MATH.finditer(text):
        out += [fn(text[pos : m.start()]), m.group()]
        pos = m.end()
    return "".join([*out, fn(text[pos:])])


def _formulas(text, fn):
    return MATH.sub(
        lambda m: m.group() if m.group().startswith(("[asy]", "\\begin{tikzpicture}")) else fn(m.group()),
        text,
    )


def numbers_as_words(text):
    small = r"(?<![\w.,^_{-])(1[0-2]|[0-9])(?![\w.,}]|\.\d)"
    return _prose(text, lambda s: re.sub(small, lambda m: WORDS[int(m.group())], s))


def thousands(text):
    number = r"(?<![\d.,])[1-9]\d{3,}(?![\d.]|,\d)"  # not in a list written without spaces
    text = _formulas(text, lambda s: re.sub(number, lambda m: f"{int(m.group()):,}".replace(",", "{,}"), s))
    return _prose(text, lambda s: re.sub(number, lambda m: f"{int(m.group()):,}", s))


def latex(text):
    def respell(s):
        s = re.sub(
            r"(?<!\\)\)", r"\\right)", re.sub(r"(?<!\\)\(", r"\\left(", s.replace("\\frac", "\\dfrac"))
        )
        return "\\(" + s[1:-1] + "\\)" if s.startswith("$") and not s.startswith("$$") else s

    return _formulas(text, respell)


def respace(text):
    rng = random.Random(len(text))
    return re.sub(r"[ \t]+", lambda m: rng.choice([" ", "  ", "\t"]), text)


REWORDINGS = [
    (r"\bWhat is the value of\b", "Find the value of"), (r"\bWhat is\b", "Find"),
    (r"\bCompute\b", "Evaluate"), (r"\bFind\b", "Determine"), (r"\bDetermine\b", "Find"),
    (r"\bHow many\b", "Find how many"),
    (r"\bLet\b", "Suppose"), (r"\bis equal to\b", "equals"), (r"\bthe sum of the\b", "the total of the"),
]  # fmt: skip


def reword(text):
    """The same question in other words (two rewordings, numbers kept)."""
    done = 0
    for pattern, replacement in REWORDINGS:
        new = _prose(text, lambda s, p=pattern, r=replacement: re.sub(p, r, s, count=1))
        done += new != text
        text = new
        if done == 2:
            return text
    return text if done else None


def join_lines(text):
    """Line and paragraph breaks made spaces (figures left as they are)."""
    parts = re.split(r"(\[asy\].*?\[/asy\]|\\begin\{tikzpicture\}.*?\\end\{tikzpicture\})", text, flags=re.S)
    joined = "".join(p if i % 2 else re.sub(r"\s*\n\s*", " ", p) for i, p in enumerate(parts))
    return joined if joined != text else None


COPIES = {
    "joined lines": join_lines,
    "numbers as words": numbers_as_words,
    "1{,}000": thousands,
    "LaTeX respelt": latex,
    "whitespace": respace,
    "instruction suffix": lambda t: t + SUFFIX,
    "instruction prefix": lambda t: PREFIX + t,
    "reworded": reword,
    "all at once": lambda t: PREFIX + respace(latex(thousands(numbers_as_words(t)))) + SUFFIX,
}


def other_numbers(text):
    """A template sibling: one number changed (the last of the longest)."""
    found = list(re.finditer(r"(?<![\d.])\d+(?![\d.])", text.split("[asy]")[0]))
    if not found:
        return None
    m = max(found, key=lambda m: (len(m.group()), m.start()))
    return text[: m.start()] + str(int(m.group()) + 1) + text[m.end() :]


SWAPS = [
    ("distinguishable", "indistinguishable"), ("smallest", "largest"), ("largest", "smallest"),
    ("minimum", "maximum"), ("maximum", "minimum"), ("positive", "negative"), ("even", "odd"),
    ("odd", "even"), ("sum", "product"), ("product", "sum"), ("area", "perimeter"), ("perimeter", "area"),
    ("inside", "outside"), ("increasing", "decreasing"), ("more", "fewer"),
]  # fmt: skip


def changed_word(text):
    """One word changed that changes the question."""
    for a, b in SWAPS:
        new = _prose(text, lambda s, a=a, b=b: re.sub(rf"\b{a}\b", b, s, count=1))
        if new != text:
            return new
    return None


QUESTIONS = ["What is the perimeter of quadrilateral $ABCD$?", "Find the area of the shaded region."]


def figure_other_question(text):
    """The same [asy] figure with another question."""
    if "[asy]" not in text:
        return None
    head, rest = text.split("[asy]", 1)
    figure, tail = rest.split("[/asy]", 1)
    question = next(q for q in QUESTIONS if q.split()[-1] not in head + tail)
    if tail.strip():
        return f"{head}[asy]{figure}[/asy]\n\n{question}"
    sentences = re.split(r"(?<=[.?!])\s+", head.strip())
    return " ".join([*sentences[:-1], question]) + f" [asy]{figure}[/asy]"


def with_choices(text, answer):
    """Five answer choices added, the right one (C) among them; the answer as its letter."""
    if not answer or not re.fullmatch(r"-?\d+", answer):
        return None, None
    marks = " \\qquad ".join(
        f"\\textbf{{({k})}}\\ {int(answer) + d}" for k, d in zip("ABCDE", range(-2, 3), strict=True)
    )
    return f"{text}\n\n${marks}$", "\\textbf{(C)}"


LOOK_ALIKES = {
    "other numbers": other_numbers,
    "one word changed": changed_word,
    "same figure, other question": figure_other_question,
}
PER_KIND = 25


def key(text: str) -> tuple:
    """A text's words, numbers and commands (its punctuation aside)."""
    return tuple(t for t in C.tokens(text) if t[0].isalnum() or t[0] == "\\")


def planted(seed: int):
    """(training rows, {row id: (benchmark, problem id, kind, is a copy)}) made from the
    nine benchmarks' problems; a look-alike that happens to be another benchmark problem
    word for word (Olympiad-Bench's E(6,1) + 1 is its E(6,2); its n=6 + 1, its n=7) is
    left out."""
    bench = benchmark_items()
    known = {key(i.text) for items in bench.values() for i in items}
    every = [(name, item) for name, items in bench.items() for item in items]
    rng = random.Random(seed)
    rows, truth = [], {}
    for kind, make in {**COPIES, "answer choices": None, **LOOK_ALIKES}.items():
        pool = every[:]
        rng.shuffle(pool)
        made = 0
        for name, item in pool:
            copy = kind not in LOOK_ALIKES
            if make is None:
                text, answer = with_choices(item.text, item.answer)
            else:
                text, answer = make(item.text), item.answer
            if text is None or text == item.text or (not copy and key(text) in known):
                continue
            rows.append((f"{kind}:{made}", text, answer if copy else None))
            truth[f"{kind}:{made}"] = (name, item.id, kind, copy)
            made += 1
            if made == PER_KIND:
                break
    return rows, truth


def write_verl(rows, path) -> None:
    """Training rows as verl writes them: a chat (system and user turns) and the answer
    in reward_model.ground_truth."""
    table = pa.table(
        {
            "prompt": [
                [
                    {"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": t},
                ]
                for _, t, _ in rows
            ],
            "reward_model": [{"ground_truth": a} for _, _, a in rows],
            "extra_info": [{"id": i} for i, _, _ in rows],
        }
    )
    pq.write_table(table, path)


@pytest.mark.parametrize("with_answers", [True, False], ids=["with answers", "text only"])
def test_planted_copies_are_copies_and_look_alikes_are_not(tmp_path, same_answer, with_answers):
    rows, truth = planted(seed=11)
    if not with_answers:
        rows = [(i, t, None) for i, t, _ in rows]
    write_verl(rows, tmp_path / "train.parquet")
    read = read_training_set(
        tmp_path / "train.parquet", "prompt", "reward_model.ground_truth", "extra_info.id"
    )
    training = {"planted": [C.Item(r.id, r.text, r.answer, r.row) for r in read]}
    assert len(training["planted"]) == len(rows)
    pairs = C.find_pairs(benchmark_items(), training, C.Settings.defaults(), same_answer)
    got = {(p.other_id, p.benchmark, p.problem_id): p for p in pairs if p.other == "planted"}
    failed = []
    for rid, (bench, pid, kind, copy) in truth.items():
        pair = got.get((rid, bench, pid))
        label = pair.label if pair else None
        if (label == C.COPY) != copy:
            failed.append((kind, bench, pid, label, pair and pair.reason))
    kinds = {kind for _, _, kind, _ in truth.values()}
    assert kinds == {*COPIES, "answer choices", *LOOK_ALIKES}
    assert not failed, failed
    # and no planted look-alike is a copy of any other problem either
    alikes = {rid for rid, (_, _, _, copy) in truth.items() if not copy}
    assert not [p for p in pairs if p.other_id in alikes and p.label == C.COPY]


# ------------------------------------------------------------------ the streamed search

KINDLY = "Kindly work on this task.\n\n"


def streamed_set() -> list[C.Item]:
    """2,000 LIMR rows, 60 % of them with a preamble to learn, and 30 respaced copies of
    benchmark problems at random places."""
    rng = random.Random(7)
    items = [
        C.Item(i.id, KINDLY + i.text if rng.random() < 0.6 else i.text, i.answer) for i in limr_items()[:2000]
    ]
    every = [i for items in benchmark_items().values() for i in items]
    for k, source in enumerate(rng.sample(every, 30)):
        items.insert(rng.randrange(len(items)), C.Item(f"copy-{k}", respace(source.text), source.answer))
    return [C.Item(i.id, i.text, i.answer, row) for row, i in enumerate(items)]


def test_the_streamed_search_finds_what_the_in_memory_one_finds(tmp_path, same_answer):
    """A training set searched a batch at a time (from a list, and read from a Parquet
    file a row group at a time, as the stage reads it) gives the same pairs, in the same
    order, as every set prepared and searched in memory at once."""
    bench, items = benchmark_items(), streamed_set()
    copied = [C.Item(f"X-{i}", latex(item.text), item.answer) for i, item in enumerate(bench["MATH-500"][:5])]
    bench["X"] = copied  # a benchmark that holds another one's problems: pairs between benchmarks
    settings = C.Settings.defaults()
    prepared = C.prepare({**bench, "train": items}, settings, ["train"])
    reference = C.search(prepared, list(bench), settings, same_answer)
    copies = {p.other_id for p in reference if p.other == "train" and p.label == C.COPY}
    assert {f"copy-{k}" for k in range(30)} <= copies
    assert {(p.benchmark, p.other) for p in reference if p.label == C.COPY} >= {
        ("X", "MATH-500"),
        ("MATH-500", "X"),
    }
    boiler = C.learn_boilerplate(C.Stream.of(items), 0.3)
    assert boiler.prefixes == (("Kindly", "work", "on", "this", "task."),)

    assert C.find_pairs(bench, {"train": items}, settings, same_answer, batch_rows=97) == reference
    path = tmp_path / "train.parquet"
    columns = {"problem": [i.text for i in items], "answer": [i.answer for i in items]}
    pq.write_table(pa.table({**columns, "id": [i.id for i in items]}), path, row_group_size=300)
    source = TrainingSet(path, "problem", "answer", "id")
    stream = C.Stream(lambda: (C.Item(r.id, r.text, r.answer, r.row) for r in source), source.texts_at)
    assert C.find_pairs(bench, {"train": stream}, settings, same_answer, batch_rows=250) == reference


def test_the_boilerplate_sample_is_every_kth_row():
    """k is the smallest power of two that leaves at most ``limit`` rows, found in one pass
    without knowing the count; a set within the limit is taken whole."""
    sample = C.EveryKth(limit=10)
    for position in range(95):
        if sample.wants(position):
            sample.add(position, str(position))
    assert [p for p, _ in sample.rows] == list(range(0, 95, 16))  # 95 / 8 > 10 >= 95 / 16
    whole = C.EveryKth(limit=10)
    for position in range(10):
        whole.add(position, "x")
    assert whole.k == 1 and len(whole.rows) == 10
    rows = [KINDLY + f"What is {i} + {i}?" if i % 3 else f"What is {i} times 2?" for i in range(25_000)]
    stream = C.Stream.of([C.Item(str(i), text) for i, text in enumerate(rows)])
    sample = C.EveryKth()
    for position, text in stream.texts_at(sample.wants):
        sample.add(position, text)
    assert sample.k == 4 and [p for p, _ in sample.rows] == list(range(0, 25_000, 4))  # 6,250 rows
    assert C.learn_boilerplate(stream, 0.3).prefixes == (("Kindly", "work", "on", "this", "task."),)


# ------------------------------------------------------------------ benchmarks against benchmarks


def test_the_nine_benchmarks_hold_no_copy_of_each_other(same_answer):
    """Every benchmark against every other (1,646 problems): no copy, at the default
    threshold and at a much lower one (the most similar pair scores 0.24: AIME24-17 and
    Olympiad-Bench-119, two different problems about triples)."""
    bench = benchmark_items()
    assert list(bench) == BENCHMARK_NAMES
    for settings in (C.Settings.defaults(), C.Settings.defaults(threshold=0.2, word_threshold=0.5)):
        pairs = C.find_pairs(bench, {}, settings, same_answer)
        assert not [p for p in pairs if p.label == C.COPY], [(p.problem_id, p.other_id) for p in pairs][:5]


def test_a_benchmark_that_holds_another_ones_problems_is_reported(same_answer):
    bench = benchmark_items()
    source = bench["MATH-500"][100:105]
    copied = [C.Item(f"X-{i}", latex(respace(item.text)), item.answer) for i, item in enumerate(source)]
    pairs = C.find_pairs({"MATH-500": bench["MATH-500"], "X": copied}, {}, C.Settings.defaults(), same_answer)
    copies = {(p.benchmark, p.problem_id, p.other, p.other_id) for p in pairs if p.label == C.COPY}
    expected = {("MATH-500", s.id, "X", c.id) for s, c in zip(source, copied, strict=True)}
    assert copies == expected | {(b, q, a, p) for a, p, b, q in expected}  # each way
