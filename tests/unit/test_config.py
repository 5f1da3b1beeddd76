"""Config validation: one short line naming the key; plans, shards and seeds."""

from __future__ import annotations

import copy
import tempfile
from argparse import Namespace

import pytest
import yaml

from conftest import BENCHMARKS, ROOT
from justeval.config.checks import check_before_jobs
from justeval.config.params import RuleParams
from justeval.config.plan import build_plan
from justeval.config.schema import ConfigError, check_schema
from justeval.stages.generate import sample_seed

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def default_config() -> dict:
    """config.yaml with the schema's defaults filled in, as the Snakefile reads it."""
    from justeval.config.schema import fill_defaults

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    fill_defaults(config, SCHEMA)
    return config


def with_defaults(config: dict) -> dict:
    from snakemake.utils import validate

    config = copy.deepcopy(config)
    validate(config, str(SCHEMA))
    return config


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda c: c["generation"].update(temprature=0.5),
            "config error: generation: unknown key 'temprature' (known keys:",
        ),
        (
            lambda c: c.update(extra_section=1),
            "config error: (top level): unknown key 'extra_section'",
        ),
        (
            lambda c: c["generation"].update(temperature="hot"),
            "config error: generation.temperature: expected number, got 'hot'",
        ),
        (
            lambda c: c["models"][1].update(revision=12),
            "config error: models[1].revision: expected string, got 12",
        ),
        (
            lambda c: c["rule_grade"].update(grader="magic"),
            "config error: rule_grade.grader: 'magic' is not one of 'justeval', 'math_verify'",
        ),
        (
            lambda c: c["benchmarks"][0].pop("name"),
            "config error: benchmarks[0]: missing required key 'name'",
        ),
        (
            lambda c: c["benchmarks"][2].update(n_samples=0),
            "config error: benchmarks[2].n_samples: 0 is less than the minimum of 1",
        ),
        (lambda c: c.pop("models"), "config error: (top level): missing required key 'models'"),
    ],
)
def test_schema_errors_are_one_line_and_name_the_key(mutate, message):
    config = default_config()
    mutate(config)
    with pytest.raises(ConfigError) as err:
        check_schema(config, SCHEMA)
    text = str(err.value)
    assert text.startswith(message), text
    assert "\n" not in text and len(text) < 400


def test_default_config_is_valid_and_plans_the_protocol():
    config = default_config()
    check_schema(config, SCHEMA)
    plan = build_plan(with_defaults(config), ROOT)
    assert list(plan.models) == ["JustRL-DeepSeek-1.5B", "JustRL-Nemotron-1.5B"]
    assert plan.primary.verifier.alias == "CompassVerifier-3B"
    n = {b.name: b.n_samples for b in plan.benchmarks.values()}
    assert n == {
        "AIME24": 32, "AIME25": 32, "AMC23": 32, "MATH-500": 4, "Minerva": 4,
        "Olympiad-Bench": 4, "HMMT25": 32, "BRUMO25": 32, "CMIMC25": 32,
    }  # fmt: skip
    gen = RuleParams(plan).generation_settings("JustRL-DeepSeek-1.5B", "AIME24")
    assert (gen["temperature"], gen["top_p"], gen["max_tokens"]) == (0.7, 0.9, 31744)
    assert gen["prompt"] == (
        "{problem} Please reason step by step, and put your final answer within \\boxed{}."
    )
    assert plan.benchmarks["AIME24"].source.startswith("https://")


def _semantic_error(mutate) -> str:
    config = default_config()
    config["benchmark_source"] = str(BENCHMARKS)
    mutate(config)
    check_schema(config, SCHEMA)
    with pytest.raises(ConfigError) as err, tempfile.TemporaryDirectory() as weights_cache:
        plan = build_plan(with_defaults(config), ROOT)
        check_before_jobs(
            plan, {"generate"}, "data/benchmarks/{benchmark}.parquet", weights_cache, weights_cache, "v"
        )
    return str(err.value)


def test_missing_model_path_is_named(tmp_path):
    msg = _semantic_error(lambda c: c["models"].append({"path": str(tmp_path / "nope")}))
    assert msg == f"config error: models[2].path: no such folder: {tmp_path / 'nope'}"


def test_model_folder_without_config(tmp_path):
    msg = _semantic_error(lambda c: c["models"].append({"name": "x", "path": str(tmp_path)}))
    assert msg.startswith("config error: models[2].path:") and "config.json" in msg


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda c: c["models"].append({"hub": "a/b", "path": "/x"}),
            "config error: models[2]: give exactly one of 'hub', 'path', 'tiny', 'import' or "
            "'endpoint' (got hub and path)",
        ),
        (
            lambda c: c["models"].append({"hub": "other/JustRL-DeepSeek-1.5B"}),
            "config error: models[2].name: alias 'JustRL-DeepSeek-1.5B' is used twice",
        ),
        (
            lambda c: c["models"].append({"name": "models", "hub": "a/b"}),
            "config error: models[2].name: 'models' is reserved",
        ),
        (
            lambda c: c["models"].append({"name": "t", "tiny": {}, "revision": "x"}),
            "config error: models[2].revision: only hub and endpoint models have a revision",
        ),
        (
            lambda c: c["benchmarks"].append({"name": "AIME24"}),
            "config error: benchmarks[9].name: 'AIME24' is listed twice",
        ),
        (
            # a benchmark that exists, named like a rule (checked once the rules are read)
            lambda c: c["benchmarks"].append(
                {"name": "generate", "source": str(BENCHMARKS / "AIME24" / "test.parquet")}
            ),
            "config error: benchmarks[9].name: 'generate' is also a rule name",
        ),
        (
            lambda c: c["benchmarks"].append({"name": "NoSuch"}),
            "config error: benchmarks[9].name: benchmark file not found:",
        ),
        (
            lambda c: c["model_grade"].update(verifier="nobody"),
            "config error: model_grade.verifier: 'nobody' is not in `verifiers` or `models`",
        ),
        (
            lambda c: c["model_grade"].update(prompt="no/such/prompt.txt"),
            "config error: model_grade.prompt: no such file: no/such/prompt.txt",
        ),
        (
            lambda c: c["generation"].update(prompt="Solve it."),
            "config error: generation.prompt: must contain {problem}",
        ),
    ],
)
def test_semantic_errors(mutate, message):
    msg = _semantic_error(mutate)
    assert msg.startswith(message), msg
    assert "\n" not in msg


def test_verifier_prompt_needs_placeholders(tmp_path):
    bad = tmp_path / "p.txt"
    bad.write_text("Grade {question} against {gold_answer}.")
    msg = _semantic_error(lambda c: c["model_grade"].update(prompt=str(bad)))
    assert msg.endswith("lacks {llm_response}")


def test_shards_and_seeds():
    config = default_config()
    config["benchmark_source"] = str(BENCHMARKS)
    config["benchmarks"] = [{"name": "AIME24", "n_samples": 6, "shard_size": 4}]
    plan = build_plan(with_defaults(config), ROOT)
    bench = plan.benchmarks["AIME24"]
    assert bench.n_shards == 2
    assert bench.shard_samples(0) == (0, 4) and bench.shard_samples(1) == (4, 6)
    with pytest.raises(ValueError):
        bench.shard_samples(2)
    # a seed depends on the base seed and the sample index alone
    assert sample_seed(0, 3) == sample_seed(0, 3)
    assert len({sample_seed(0, i) for i in range(1000)}) == 1000
    assert sample_seed(0, 3) != sample_seed(1, 3)
    assert all(0 <= sample_seed(7, i) < 2**31 for i in range(100))


def test_per_model_override_only_changes_that_model():
    config = default_config()
    config["benchmark_source"] = str(BENCHMARKS)
    config["models"][1]["generation"] = {"temperature": 0.6}
    plan = build_plan(with_defaults(config), ROOT)
    params = RuleParams(plan)
    a = params.generate(Namespace(model="JustRL-DeepSeek-1.5B", benchmark="AIME24", shard="0"))
    b = params.generate(Namespace(model="JustRL-Nemotron-1.5B", benchmark="AIME24", shard="0"))
    assert '"temperature":0.7' in a and '"temperature":0.6' in b


@pytest.mark.parametrize(
    "section, override, message",
    [
        (
            "rule_grade",
            {"timout": 3, "grader": "nonsense"},
            "config error: grading_variants[1].rule_grade: unknown key 'timout' (known keys: grader",
        ),
        (
            "rule_grade",
            {"grader": "nonsense"},
            "config error: grading_variants[1].rule_grade.grader: 'nonsense' is not one of 'justeval'",
        ),
        (
            "model_grade",
            {"max_tokens": "many"},
            "config error: grading_variants[1].model_grade.max_tokens: expected integer, got 'many'",
        ),
    ],
)
def test_grading_variant_overrides_are_validated(section, override, message):
    config = default_config()
    config["grading_variants"] = [{"name": "main"}, {"name": "other", section: override}]
    with pytest.raises(ConfigError) as info:
        check_schema(config, SCHEMA)
    assert str(info.value).startswith(message)


def test_nested_command_line_strings_are_coerced_where_unambiguous():
    from justeval.config.schema import coerce_strings

    config = default_config()
    # what `--config 'generation={temperature: 0.5, top_k: null}' 'model_grade={enabled: false}'` hands over
    config["generation"] = {"temperature": "0.5", "top_k": "null", "max_tokens": "64", "prompt": "123"}
    config["model_grade"] = {"enabled": "false", "max_tokens": "lots"}
    coerce_strings(config, SCHEMA)
    assert config["generation"] == {"temperature": 0.5, "top_k": None, "max_tokens": 64, "prompt": "123"}
    assert config["model_grade"]["enabled"] is False
    assert config["model_grade"]["max_tokens"] == "lots"  # not a number: left for the schema to report
    with pytest.raises(ConfigError, match="model_grade.max_tokens: expected integer, got 'lots'"):
        check_schema(config, SCHEMA)


@pytest.mark.parametrize(
    "configs", [["config.yaml"], ["config.yaml", "tests/smoke/config.yaml"], ["minimal"]]
)
def test_fill_defaults_sets_what_snakemakes_validate_sets(configs):
    """One pass over the schema (ours) fills exactly the defaults Snakemake's would."""
    from justeval.config.schema import fill_defaults

    config = {}
    for name in configs:
        if name == "minimal":
            config = {"models": [{"hub": "org/model"}], "benchmarks": [{"name": "AIME24", "n_samples": 2}]}
        else:
            config.update(yaml.safe_load((ROOT / name).read_text()))
    ours = copy.deepcopy(config)
    fill_defaults(ours, SCHEMA)
    assert ours == with_defaults(config)
    if configs == ["minimal"]:
        assert ours["generation"]["temperature"] == 0.7 and ours["grading_variants"]


def test_the_sampling_keys_are_the_generation_sections_keys():
    """One list of what changes samples: every `generation` key but shard_size, and the
    per-model override accepts exactly those."""
    from justeval.config.plan import SAMPLING_KEYS

    schema = yaml.safe_load(SCHEMA.read_text())
    generation = schema["$defs"]["generation"]["properties"]
    override = schema["$defs"]["generation_override"]["properties"]
    assert set(SAMPLING_KEYS) == set(generation) - {"shard_size"} == set(override)


@pytest.mark.parametrize(
    ("train", "message"),
    [
        (
            {"name": "d", "path": "/nowhere/t.parquet"},
            r"overlap.train\[0\].path: /nowhere/t.parquet: no such file",
        ),
        (
            {"name": "d", "path": "{csv}"},
            r"overlap.train\[0\].path: .*t.csv: not a training set in any known format .* starts with 'q,a",
        ),
        (
            {"name": "d", "path": "{jsonl}", "column": "text", "answer_column": "solution"},
            r"overlap.train\[0\].answer_column: .* has no column 'solution' \(it has: text\)",
        ),
        ({"name": "AIME24", "path": "{amc}"}, r"overlap.train\[0\].name: 'AIME24' is already the name"),
        (
            {"name": "d", "path": "{amc}"},
            r"overlap.train\[0\].column: .* has no column 'problem' \(it has: prompt,",
        ),
        (
            {"name": "d", "path": "{jsonl}", "column": "question"},
            r"has no column 'question' \(it has: text\)",
        ),
    ],
)
def test_overlap_training_sets_are_checked_when_the_snakefile_is_read(tmp_path, train, message):
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text('{"text": "Find x."}\n')
    table = tmp_path / "t.csv"
    table.write_text("q,a\nFind x.,1\n")
    config = default_config()
    amc = BENCHMARKS / "AMC23" / "test.parquet"
    train = {k: v.format(amc=amc, jsonl=jsonl, csv=table) for k, v in train.items()}
    config["overlap"] = {"train": [train]}
    with pytest.raises(ConfigError, match=message):
        build_plan(with_defaults(config), ROOT)


def test_the_docs_keys_table_is_the_schemas():
    """docs/configuration.md lists every key with the schema's default (generated from the
    schema, the one home of each default), and every key says what it does."""
    from justeval.config.schema import KEYS_BEGIN, KEYS_END, keys_table

    text = (ROOT / "docs" / "configuration.md").read_text()
    documented = text.split(KEYS_BEGIN + "\n", 1)[1].split(KEYS_END, 1)[0]
    table = keys_table(SCHEMA)
    assert documented == table, "regenerate it: PYTHONPATH=workflow python -m justeval.config.schema"
    rows = [line.split(" | ") for line in table.splitlines()[2:]]
    assert len(rows) > 80
    assert not [r[0] for r in rows if not r[2].strip(" |")], "keys without a description"
    timeout = yaml.safe_load(SCHEMA.read_text())["properties"]["rule_grade"]["properties"]["timeout"]
    assert f"| `rule_grade.timeout` | `{timeout['default']}` |" in table


def test_engine_options_reach_both_engine_stages_by_one_road():
    """generate and model_grade both take PARAMS.engine_options: the engine section; a
    generate job of a served model also its server; a model_grade job never the policy's
    server (its engine serves the verifier), nor does a variant without a verifier fail."""
    import json

    config = default_config()
    config["benchmark_source"] = str(BENCHMARKS)
    config["models"].append({"name": "served", "endpoint": {"base_url": "http://h:1/v1", "model": "m"}})
    config["grading_variants"] = [{"name": "main"}, {"name": "rules", "model_grade": {"enabled": False}}]
    plan = build_plan(with_defaults(config), ROOT)
    params = RuleParams(plan)
    engine = plan.config["engine"]
    generate = json.loads(params.engine_options(Namespace(model="served", benchmark="AIME24", shard="0")))
    assert generate == {**engine, "endpoint": {"base_url": "http://h:1/v1", "model": "m"}}
    for variant in ("main", "rules"):
        grade = Namespace(model="served", benchmark="AIME24", variant=variant)
        assert json.loads(params.engine_options(grade)) == engine
    local = Namespace(model="JustRL-DeepSeek-1.5B", benchmark="AIME24", shard="0")
    assert json.loads(params.engine_options(local)) == engine
