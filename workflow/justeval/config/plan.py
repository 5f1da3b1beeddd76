"""The Plan: the validated config in the shape the rules need.

Imported by the Snakefile at parse time (every SLURM job parses it again).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from justeval.config.benchmarks import BenchmarkSpec, pass_k_values, resolve_source, rows_fingerprint
from justeval.config.models import FORMATS_WITH_VERDICTS, ModelSpec, expand_sweeps, model_spec
from justeval.config.schema import ConfigError
from justeval.sources.locations import is_url

# Keys of the `generation` section that change samples (shard_size does not:
# it only decides how samples are grouped into jobs).
SAMPLING_KEYS = (
    "prompt",
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "base_seed",
    "dtype",
    "max_model_len",
)
RESERVED_VARIANT_NAMES = frozenset({"generations"})
VERIFIER_PLACEHOLDERS = ("{question}", "{gold_answer}", "{llm_response}")


@dataclass(frozen=True)
class Variant:
    """A named way of grading the same generations (rule grader, verifier, prompt, ...)."""

    name: str
    rule_grade: dict
    model_grade: dict
    verifier: ModelSpec | None
    provided: bool = False  # use the verdicts an imported file carries


@dataclass
class Plan:
    """The validated config, in the shape the rules need."""

    config: dict
    models: dict[str, ModelSpec]  # policy models, in config order
    variants: dict[str, Variant]  # grading variants, the primary one first
    benchmarks: dict[str, BenchmarkSpec]
    project_dir: Path
    # a line for each sweep checkpoint left for a later call (still being written)
    waiting: list[str] = field(default_factory=list)
    # imported models whose files lack a verdict for some sample (check_import_verdicts)
    without_verdicts: set[str] = field(default_factory=set)

    @property
    def primary(self) -> Variant:
        return next(iter(self.variants.values()))

    @property
    def all_models(self) -> dict[str, ModelSpec]:
        """Policy models and every variant's verifier: everything download_model fetches."""
        out = dict(self.models)
        for variant in self.variants.values():
            if variant.verifier is not None:
                out.setdefault(variant.verifier.alias, variant.verifier)
        return out

    def aliases(self, source: str) -> list[str]:
        return [a for a, m in self.all_models.items() if m.source == source]

    def fingerprint_local_models(self, cache_dir: str | Path) -> dict[str, list[str]]:
        """Hash the content of every local (`path:`) model folder, so that weights or
        configs changed in place are part of the model's identity: its manifest and
        everything sampled from it are redone. Files whose size and mtime match the
        cache in ``cache_dir`` are not read again. Returns the changed files per model."""
        from justeval.sources.models import folder_fingerprint

        changes = {}
        for alias, spec in self.all_models.items():
            if spec.source == "path":
                weights, changed = folder_fingerprint(Path(spec.path), Path(cache_dir) / f"{alias}.json")
                # ModelSpec is frozen so that nothing else changes it; the same object is
                # shared by the variants that use it as a verifier
                object.__setattr__(spec, "weights", weights)
                if changed:
                    changes[alias] = changed
        return changes

    def fingerprint_benchmarks(self, cache_dir: str | Path, version: str) -> None:
        """Hash the rows each local benchmark source gives (its first `limit`), so that
        prepare_benchmark reruns when they change and not when the file is only touched or
        changed beyond the limit (see :func:`rows_fingerprint`)."""
        for name, spec in self.benchmarks.items():
            # BenchmarkSpec is frozen so that nothing else changes it
            object.__setattr__(
                spec, "rows", rows_fingerprint(spec, Path(cache_dir) / f"{name}.json", version)
            )

    def model_benchmarks(self, model: str) -> list[str]:
        """Benchmarks a policy model is evaluated on (an import: the ones it brings)."""
        spec = self.models[model]
        if spec.source == "import":
            return [b for b in self.benchmarks if b in spec.imported["files"]]
        return list(self.benchmarks)

    def check_import_verdicts(self, cache_dir: str | Path) -> list[str]:
        """Whether each imported model's files carry a verdict for every sample (the
        `provided` variant needs them): read once, then cached by the files' sizes and
        mtimes in ``cache_dir``. Returns a line for each model whose files do not."""
        from justeval.sources.released.registry import carries_verdicts

        if not any(v.provided for v in self.variants.values()):
            return []
        lines = []
        for alias, spec in self.models.items():
            if spec.source != "import" or not self._may_carry_verdicts(spec):
                continue
            for bench, paths in spec.imported["files"].items():
                if bench not in self.benchmarks:
                    continue
                cache = Path(cache_dir) / f"{alias}--{bench}.json"
                ok, why = carries_verdicts(paths, spec.imported["format"], spec.imported["options"], cache)
                if not ok:
                    self.without_verdicts.add(alias)
                    lines.append(f"model {alias}: {why}; no `provided` variant for it")
                    break
        return lines

    @staticmethod
    def _may_carry_verdicts(spec: ModelSpec) -> bool:
        return spec.imported["format"] in FORMATS_WITH_VERDICTS or "correct" in spec.imported["options"]

    def model_variants(self, model: str) -> list[str]:
        """Grading variants that apply to a model (`provided` needs an import whose files
        carry a verdict for every sample)."""
        spec = self.models[model]
        has_verdicts = (
            spec.source == "import" and self._may_carry_verdicts(spec) and model not in self.without_verdicts
        )
        return [v.name for v in self.variants.values() if not v.provided or has_verdicts]

    def n_shards(self, model: str, benchmark: str) -> int:
        """Generation shards of a pair: an import is one, whatever its N."""
        return 1 if self.models[model].source == "import" else self.benchmarks[benchmark].n_shards

    def pairs(self) -> list[tuple[str, str]]:
        return [(m, b) for m in self.models for b in self.model_benchmarks(m)]

    def verifier_prompt_path(self, variant: str) -> Path:
        return resolve_project_file(self.variants[variant].model_grade["prompt"], self.project_dir)

    def coverage_pairs(self) -> list[tuple[str, str]]:
        """The (base, model) pairs of the coverage analysis: `analysis.coverage` as named,
        or, when it names none, each training run's first checkpoint against its last."""
        named = self.config["analysis"]["coverage"]
        if named:
            return list(dict.fromkeys((p["base"], p["model"]) for p in named))
        runs: dict[str, list[tuple[int, str]]] = {}
        for model, spec in self.models.items():
            if spec.step is not None:
                runs.setdefault(spec.run or "run", []).append((spec.step, model))
        return [(min(points)[1], max(points)[1]) for points in runs.values() if len(points) > 1]

    def budgets(self, model: str) -> list[int]:
        """The token budgets of a model's budget curve: `analysis.budgets` up to its
        max_tokens (an import: as given), or by default powers of two from 1,024 below its
        max_tokens and max_tokens itself. Empty: no budget curve."""
        given = self.config["analysis"]["budgets"]
        spec = self.models[model]
        max_tokens = (
            None
            if spec.source == "import"
            else ((spec.generation or {}).get("max_tokens") or self.config["generation"]["max_tokens"])
        )
        if given is not None:
            return sorted({b for b in given if max_tokens is None or b <= max_tokens})
        if max_tokens is None:
            return []
        out, b = [], 1024
        while b < max_tokens:
            out.append(b)
            b *= 2
        return [*out, max_tokens]

    def pass_k(self, benchmark: str) -> list[int]:
        return pass_k_values(self.config["aggregate"]["pass_k"], self.benchmarks[benchmark].n_samples)


def resolve_project_file(path: str, project_dir: Path) -> Path:
    """A relative path: the working directory first, then the project folder."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    candidate = project_dir / p
    return candidate if candidate.exists() else p


def build_plan(config: dict, project_dir: str | Path) -> Plan:
    """Check what the schema cannot and return the Plan (raises ConfigError)."""
    project_dir = Path(project_dir)
    models: dict[str, ModelSpec] = {}
    entries, waiting = expand_sweeps(config["models"])
    where_of = {}
    for where, entry in entries:
        spec = model_spec(entry, where)
        where_of[spec.alias] = where
        if spec.alias in models:
            raise ConfigError(
                f"config error: {where}.name: alias {spec.alias!r} is used twice; set distinct names"
            )
        models[spec.alias] = spec

    default_shard = config["generation"]["shard_size"]
    template = config["benchmark_source"]
    benchmarks: dict[str, BenchmarkSpec] = {}
    for i, entry in enumerate(config["benchmarks"]):
        name = entry["name"]
        if name in benchmarks:
            raise ConfigError(f"config error: benchmarks[{i}].name: {name!r} is listed twice")
        source = entry.get("source") or resolve_source(template, name)
        if not is_url(source):
            local = Path(source.removeprefix("file://")).expanduser()
            if not local.is_file():
                key = "source" if entry.get("source") else "name"
                raise ConfigError(f"config error: benchmarks[{i}].{key}: benchmark file not found: {local}")
            source = str(local)
        benchmarks[name] = BenchmarkSpec(
            name=name,
            n_samples=entry["n_samples"],
            shard_size=entry.get("shard_size", default_shard),
            source=source,
            limit=entry.get("limit"),
            sha256=entry.get("sha256"),
        )

    for where, entry in entries:
        prompt = (entry.get("generation") or {}).get("prompt")
        if prompt is not None and "{problem}" not in prompt:
            raise ConfigError(f"config error: {where}.generation.prompt: must contain {{problem}}")
    if "{problem}" not in config["generation"]["prompt"]:
        raise ConfigError("config error: generation.prompt: must contain {problem}")

    for model, spec in models.items():
        if spec.source == "import":
            unknown = sorted(set(spec.imported["files"]) - set(benchmarks))
            if unknown:
                raise ConfigError(
                    f"config error: {where_of[model]}.import.files: {', '.join(unknown)} not in `benchmarks`"
                )

    verifiers: dict[str, ModelSpec] = {}
    for i, entry in enumerate(config["verifiers"]):
        spec = model_spec(entry, f"verifiers[{i}]")
        if spec.alias in verifiers or spec.alias in models:
            raise ConfigError(
                f"config error: verifiers[{i}].name: alias {spec.alias!r} is used twice; set distinct names"
            )
        verifiers[spec.alias] = spec

    variants: dict[str, Variant] = {}
    for i, entry in enumerate(config["grading_variants"]):
        variant = _variant(entry, f"grading_variants[{i}]", config, models, verifiers, project_dir)
        if variant.name in variants:
            raise ConfigError(f"config error: grading_variants[{i}].name: {variant.name!r} is listed twice")
        variants[variant.name] = variant
    if not variants or next(iter(variants.values())).provided:
        raise ConfigError(
            "config error: grading_variants[0]: the first (primary) variant cannot be `provided`"
        )
    check_overlap(config, benchmarks)
    for i, pair in enumerate(config["analysis"]["coverage"]):
        for key in ("base", "model"):
            if pair[key] not in models:
                raise ConfigError(
                    f"config error: analysis.coverage[{i}].{key}: {pair[key]!r} is not a model of the run "
                    f"(models: {', '.join(models)})"
                )
    return Plan(config, models, variants, benchmarks, project_dir, waiting)


def check_overlap(config: dict, benchmarks: dict) -> None:
    """Each training set of `overlap.train` is named once, in a readable format, with the
    columns it names (where they show without reading the rows: a JSON array's are
    checked by the overlap job, which reads it whole)."""
    from justeval.io.parquet import DataError
    from justeval.sources.training_sets import peek_columns

    seen = set()
    for i, entry in enumerate(config["overlap"]["train"]):
        where = f"overlap.train[{i}]"
        if entry["name"] in seen or entry["name"] in benchmarks:
            raise ConfigError(
                f"config error: {where}.name: {entry['name']!r} is already the name of a training set "
                "or a benchmark"
            )
        seen.add(entry["name"])
        try:
            columns = peek_columns(entry["path"])
        except DataError as error:
            raise ConfigError(f"config error: {where}.path: {error}") from None
        for key in ("column", "answer_column", "id_column"):
            column = entry.get(key)
            if column and columns is not None and column.split(".")[0] not in columns:
                raise ConfigError(
                    f"config error: {where}.{key}: {entry['path']} has no column {column!r} "
                    f"(it has: {', '.join(columns)})"
                )


def _variant(entry, where, config, models, verifiers, project_dir) -> Variant:
    """A grading variant: the `rule_grade` and `model_grade` sections with the entry's
    overrides. Errors name the key where the offending value was written."""
    name = entry["name"]
    if name in RESERVED_VARIANT_NAMES:
        raise ConfigError(f"config error: {where}.name: {name!r} is reserved; pick another name")
    if entry.get("provided"):
        if entry.get("rule_grade") or entry.get("model_grade"):
            raise ConfigError(f"config error: {where}: a `provided` variant takes no grading settings")
        return Variant(name, {}, {"enabled": False}, None, provided=True)
    rg = {**config["rule_grade"], **(entry.get("rule_grade") or {})}
    mg = {**config["model_grade"], **(entry.get("model_grade") or {})}

    def key(section: str, field: str) -> str:
        return f"{where}.{section}.{field}" if field in (entry.get(section) or {}) else f"{section}.{field}"

    verifier = None
    if mg["enabled"]:
        verifier = verifiers.get(mg["verifier"]) or models.get(mg["verifier"])
        if verifier is None or not verifier.local_weights:
            known = ", ".join([*verifiers, *(m for m, s in models.items() if s.local_weights)])
            raise ConfigError(
                f"config error: {key('model_grade', 'verifier')}: {mg['verifier']!r} is not in "
                f"`verifiers` or `models` (known: {known})"
            )
        prompt = resolve_project_file(mg["prompt"], project_dir)
        if not prompt.is_file():
            raise ConfigError(f"config error: {key('model_grade', 'prompt')}: no such file: {mg['prompt']}")
        text = prompt.read_text()
        missing = [p for p in VERIFIER_PLACEHOLDERS if p not in text]
        if missing:
            raise ConfigError(
                f"config error: {key('model_grade', 'prompt')}: {mg['prompt']} lacks {', '.join(missing)}"
            )
        if mg["parse"] == "pattern":
            check_pattern(mg["pattern"], mg["pattern_labels"], key("model_grade", "pattern"))
    return Variant(name, rg, mg, verifier)


def check_pattern(pattern: str | None, labels: dict, where: str = "model_grade.pattern") -> None:
    if not pattern:
        raise ConfigError(f"config error: {where}: parse 'pattern' needs a pattern")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"config error: {where}: not a regular expression: {exc}") from None
    if not labels:
        raise ConfigError(
            f"config error: {where}_labels: map the pattern's matches to A, B or C, "
            "e.g. {correct: A, incorrect: B}"
        )
