"""Configuration: short validation errors, model aliases, shards and seeds.

This module is imported by the Snakefile at parse time (every SLURM job parses
it again), so it only imports the standard library, jsonschema and yaml.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .hashing import canonical_json, sha256_file

# Folders under results/ that are not model aliases.
RESERVED_ALIASES = frozenset({"models", "logs", "runtime", "tables", "cache"})

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

MODEL_SOURCES = ("hub", "path", "tiny", "import", "endpoint")
IMPORT_FORMATS = ("justrl", "qwen")
# import formats that carry their own verdicts (for the `provided` grading variant)
FORMATS_WITH_VERDICTS = ("qwen",)
RESERVED_VARIANT_NAMES = frozenset({"generations"})
VERIFIER_PLACEHOLDERS = ("{question}", "{gold_answer}", "{llm_response}")


class ConfigError(ValueError):
    """A configuration problem, with a one-line message naming the key."""


# --------------------------------------------------------------------------
# schema validation with short messages


def _key_path(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _short_message(error) -> str:
    where = _key_path(error.absolute_path)
    validator = error.validator
    if validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        known = ", ".join(sorted(error.schema.get("properties", {})))
        keys = ", ".join(repr(k) for k in extra)
        return f"{where}: unknown key {keys} (known keys: {known})"
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"{where}: missing required key '{missing}'"
    if validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{where}: expected {expected}, got {error.instance!r}"
    if validator == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        return f"{where}: {error.instance!r} is not one of {allowed}"
    if validator == "pattern":
        return f"{where}: {error.instance!r} does not match {error.validator_value!r}"
    return f"{where}: {error.message}"


def load_schema(schema_path: str | Path) -> dict:
    import yaml

    with open(schema_path) as fh:
        return yaml.safe_load(fh)


def schema_errors(config: dict, schema: dict) -> list[str]:
    """All schema violations of ``config`` as short one-line messages."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(
        validator.iter_errors(config),
        key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path]),
    )
    return [_short_message(e) for e in errors]


_SCALARS = {"number": (int, float), "integer": (int,), "boolean": (bool,), "null": (type(None),)}


def _resolve(node: dict, schema: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"].removeprefix("#/").split("/")
        target = schema
        for part in ref:
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _coerce(value, node: dict, schema: dict):
    """``value`` with strings turned into the number, boolean or null the schema asks
    for, where the string reads as exactly one such value (``'0.5'``, ``'true'``)."""
    import yaml

    node = _resolve(node, schema)
    if not isinstance(node, dict):
        return value
    if isinstance(value, str):
        types = node.get("type", [])
        types = [types] if isinstance(types, str) else types
        if "string" in types or not any(t in _SCALARS for t in types):
            return value
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        ok = any(
            isinstance(parsed, _SCALARS[t]) and not (t in ("number", "integer") and isinstance(parsed, bool))
            for t in types
            if t in _SCALARS
        )
        return parsed if ok else value
    if isinstance(value, dict):
        props = node.get("properties", {})
        extra = node.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                value[key] = _coerce(item, sub, schema)
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for i, item in enumerate(value):
            value[i] = _coerce(item, node["items"], schema)
    return value


def coerce_strings(config: dict, schema_path: str | Path) -> None:
    """Snakemake hands nested ``--config`` values over as strings
    (``--config 'generation={temperature: 0.5}'`` gives ``'0.5'``): turn them, in
    place, into the type the schema asks for where that is unambiguous."""
    schema = load_schema(schema_path)
    _coerce(config, schema, schema)


def _override_errors(config: dict, schema: dict) -> list[str]:
    """Grading variants' `rule_grade`/`model_grade` overrides, checked against the
    schema of the top-level sections they override."""
    import jsonschema

    errors = []
    variants = config.get("grading_variants")
    for i, entry in enumerate(variants if isinstance(variants, list) else []):
        for section in ("rule_grade", "model_grade"):
            override = entry.get(section) if isinstance(entry, dict) else None
            if not isinstance(override, dict):
                continue
            sub = {**_resolve(schema["properties"][section], schema), "$defs": schema.get("$defs", {})}
            sub.pop("default", None)
            for error in jsonschema.Draft202012Validator(sub).iter_errors(override):
                message = _short_message(error)
                where = f"grading_variants[{i}].{section}"
                if message.startswith("(top level)"):
                    message = where + message.removeprefix("(top level)")
                else:
                    message = f"{where}.{message}"
                errors.append(message)
    return errors


def check_schema(config: dict, schema_path: str | Path) -> None:
    """Raise ConfigError with the first schema violation, in one line."""
    schema = load_schema(schema_path)
    errors = schema_errors(config, schema)
    if not errors:
        errors = _override_errors(config, schema)
    if errors:
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(f"config error: {errors[0]}{more}")


# --------------------------------------------------------------------------
# models


@dataclass(frozen=True)
class ModelSpec:
    """One model entry, resolved: its alias and where its weights come from."""

    alias: str
    source: str  # hub | path | tiny | import
    hub: str | None = None
    revision: str | None = None
    path: str | None = None
    tiny: dict | None = None
    generation: dict | None = None
    imported: dict | None = None  # {"format": ..., "files": {benchmark: path}}
    endpoint: dict | None = None  # {"base_url": ..., "model": ...}
    step: int | None = None  # training step of a checkpoint (plots)
    run: str | None = None  # training run a checkpoint belongs to (plots)
    published: str | None = None  # row of the published JustRL tables to compare with
    # content hash of a local folder's files, set by Plan.fingerprint_local_models
    weights: str | None = None

    def identity(self) -> dict:
        """What identifies the weights; part of every generation setting."""
        if self.source == "hub":
            return {"hub": self.hub, "revision": self.revision}
        if self.source == "path":
            return {"path": self.path, "weights_sha256": self.weights}
        if self.source == "import":
            return {"import": self.imported}
        if self.source == "endpoint":
            # the served model and the label of its weights; not the URL (a location)
            return {"endpoint": self.endpoint["model"], "revision": self.revision}
        return {"tiny": self.tiny}

    @property
    def local_weights(self) -> bool:
        """Whether the pipeline loads this model's weights itself (it has a manifest)."""
        return self.source in ("hub", "path", "tiny")

    @property
    def generates(self) -> bool:
        """Whether the pipeline samples this model (imports bring their samples)."""
        return self.source != "import"


def _default_alias(entry: dict) -> str | None:
    if "hub" in entry:
        return entry["hub"].rsplit("/", 1)[-1]
    if "path" in entry:
        return Path(entry["path"]).name or None
    if "import" in entry:
        files = list(entry["import"].get("files", {}).values())
        return Path(files[0]).stem if files else None
    if "endpoint" in entry:
        return entry["endpoint"]["model"].rsplit("/", 1)[-1]
    return None


def model_spec(entry: dict, where: str) -> ModelSpec:
    given = [k for k in MODEL_SOURCES if k in entry]
    if len(given) != 1:
        what = "none" if not given else " and ".join(given)
        raise ConfigError(
            f"config error: {where}: give exactly one of 'hub', 'path', 'tiny', 'import' or 'endpoint' "
            f"(got {what})"
        )
    source = given[0]
    alias = entry.get("name") or _default_alias(entry)
    if not alias or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", alias):
        raise ConfigError(f"config error: {where}.name: cannot derive a path-safe alias; set 'name'")
    if alias in RESERVED_ALIASES:
        raise ConfigError(
            f"config error: {where}.name: {alias!r} is reserved for results/{alias}/; pick another name"
        )
    if source not in ("hub", "endpoint") and "revision" in entry:
        raise ConfigError(f"config error: {where}.revision: only hub and endpoint models have a revision")
    if source == "path":
        path = Path(entry["path"]).expanduser()
        if not path.is_dir():
            raise ConfigError(f"config error: {where}.path: no such folder: {entry['path']}")
        if not (path / "config.json").is_file():
            raise ConfigError(
                f"config error: {where}.path: {entry['path']} holds no config.json (not a model folder)"
            )
    tiny = None
    if source == "tiny":
        tiny = {"kind": "random", "seed": 0, "corpus": [], **entry["tiny"]}
        tiny["corpus"] = [str(c) for c in tiny["corpus"]]
    imported = None
    if source == "import":
        imported = {"format": entry["import"]["format"], "files": dict(entry["import"]["files"])}
        if entry["import"].get("tokenizer"):
            imported["tokenizer"] = entry["import"]["tokenizer"]
        for bench, path in imported["files"].items():
            if not Path(path).expanduser().is_file():
                raise ConfigError(f"config error: {where}.import.files.{bench}: no such file: {path}")
        if entry.get("generation"):
            raise ConfigError(f"config error: {where}.generation: an imported model is not sampled")
    return ModelSpec(
        alias=alias,
        source=source,
        hub=entry.get("hub"),
        revision=entry.get("revision", "main") if source == "hub" else entry.get("revision"),
        path=str(Path(entry["path"]).expanduser()) if source == "path" else None,
        tiny=tiny,
        generation=dict(entry.get("generation") or {}),
        imported=imported,
        endpoint=dict(entry["endpoint"]) if source == "endpoint" else None,
        step=entry.get("step"),
        run=entry.get("run"),
        published=entry.get("published"),
    )


# --------------------------------------------------------------------------
# benchmarks


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    n_samples: int
    shard_size: int
    source: str
    limit: int | None = None
    sha256: str | None = None

    @property
    def n_shards(self) -> int:
        return -(-self.n_samples // self.shard_size)

    def shard_samples(self, shard: int) -> tuple[int, int]:
        """Half-open range of sample indices of a shard.

        Shard s always holds indices [s*shard_size, (s+1)*shard_size), cut at
        N: raising N adds shards and leaves full shards untouched.
        """
        start = shard * self.shard_size
        if not 0 <= start < self.n_samples:
            raise ValueError(f"{self.name}: shard {shard} out of range (N={self.n_samples})")
        return start, min(start + self.shard_size, self.n_samples)

    def is_url(self) -> bool:
        return is_url(self.source)


def is_url(source: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*://", source)) and not source.startswith("file://")


def resolve_source(template: str, name: str) -> str:
    if "{name}" in template:
        return template.replace("{name}", name)
    if is_url(template):
        return template.rstrip("/") + f"/{name}/test.parquet"
    return str(Path(template) / name / "test.parquet")


# --------------------------------------------------------------------------
# the whole config


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

    @property
    def verifier(self) -> ModelSpec | None:
        """The primary variant's verifier."""
        return self.primary.verifier

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
        from .models import folder_fingerprint

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

    def model_benchmarks(self, model: str) -> list[str]:
        """Benchmarks a policy model is evaluated on (an import: the ones it brings)."""
        spec = self.models[model]
        if spec.source == "import":
            return [b for b in self.benchmarks if b in spec.imported["files"]]
        return list(self.benchmarks)

    def model_variants(self, model: str) -> list[str]:
        """Grading variants that apply to a model (`provided` needs an import with verdicts)."""
        spec = self.models[model]
        has_verdicts = spec.source == "import" and spec.imported["format"] in FORMATS_WITH_VERDICTS
        return [v.name for v in self.variants.values() if not v.provided or has_verdicts]

    def pairs(self) -> list[tuple[str, str]]:
        return [(m, b) for m in self.models for b in self.model_benchmarks(m)]

    # ---- settings that go into rule params (everything that changes results)

    def generation_settings(self, model: str, benchmark: str) -> dict:
        spec = self.models[model]
        gen = {k: self.config["generation"][k] for k in SAMPLING_KEYS}
        gen.update(spec.generation or {})
        return {"model": spec.identity(), **gen}

    def shard_settings(self, model: str, benchmark: str, shard: int) -> str:
        """JSON params of one generate job: settings + the shard's sample range."""
        bench = self.benchmarks[benchmark]
        start, stop = bench.shard_samples(shard)
        settings = self.generation_settings(model, benchmark)
        return canonical_json({"settings": settings, "samples": [start, stop]})

    def rule_grade_settings(self, variant: str, grader_version: str) -> str:
        rg = self.variants[variant].rule_grade
        return canonical_json({"grader": rg["grader"], "timeout": rg["timeout"], "version": grader_version})

    def clustering_grader(self, variant: str) -> dict:
        """The rule grader that decides which final answers are the same (maj@k, the
        drill-down's answer groups): the variant's own; a `provided` variant has none,
        so it uses the top-level `rule_grade` section."""
        rg = self.variants[variant].rule_grade or self.config["rule_grade"]
        return {"grader": rg["grader"], "timeout": rg["timeout"]}

    def verifier_prompt_path(self, variant: str) -> Path:
        return resolve_project_file(self.variants[variant].model_grade["prompt"], self.project_dir)

    def model_grade_settings(self, variant: str, parse_version: str) -> str:
        v = self.variants[variant]
        mg = v.model_grade
        settings: dict[str, Any] = {"enabled": mg["enabled"]}
        if mg["enabled"]:
            prompt = self.verifier_prompt_path(variant)
            settings.update(
                verifier=v.verifier.identity(),
                prompt_sha256=sha256_file(prompt),
                question=mg["question"],
                max_tokens=mg["max_tokens"],
                parse=mg["parse"],
                pattern=mg["pattern"],
                pattern_labels=mg["pattern_labels"],
                scope=mg["scope"],
                response_view=mg["response_view"],
                parse_version=parse_version,
            )
        return canonical_json(settings)

    def pass_k(self, benchmark: str) -> list[int]:
        return pass_k_values(self.config["aggregate"]["pass_k"], self.benchmarks[benchmark].n_samples)


def check_writable(folder: str, key: str) -> None:
    """A folder a job will write to, checked before any engine loads: it, or the
    nearest existing folder above it, must be writable (nothing is created here)."""
    path = Path(folder).expanduser().absolute()
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"config error: {key}: {folder}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"config error: {key}: {folder}: {probe} is not writable")


def pass_k_values(requested: list[int] | None, n: int) -> list[int]:
    """k values for pass@k: the requested ones up to N, or 1, 2, 4, ... and N."""
    if requested is None:
        ks, k = [], 1
        while k < n:
            ks.append(k)
            k *= 2
        ks.append(n)
        return ks
    return sorted({k for k in requested if k <= n})


def resolve_project_file(path: str, project_dir: Path) -> Path:
    """A relative path: the working directory first, then the project folder."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    candidate = project_dir / p
    return candidate if candidate.exists() else p


def build_plan(config: dict, project_dir: str | Path, rule_names: set[str] = frozenset()) -> Plan:
    """Check what the schema cannot and return the Plan (raises ConfigError)."""
    project_dir = Path(project_dir)
    models: dict[str, ModelSpec] = {}
    for i, entry in enumerate(config["models"]):
        spec = model_spec(entry, f"models[{i}]")
        if spec.alias in models:
            raise ConfigError(
                f"config error: models[{i}].name: alias {spec.alias!r} is used twice; set distinct names"
            )
        models[spec.alias] = spec

    default_shard = config["generation"]["shard_size"]
    template = config["benchmark_source"]
    benchmarks: dict[str, BenchmarkSpec] = {}
    for i, entry in enumerate(config["benchmarks"]):
        name = entry["name"]
        if name in benchmarks:
            raise ConfigError(f"config error: benchmarks[{i}].name: {name!r} is listed twice")
        if name in rule_names:
            raise ConfigError(
                f"config error: benchmarks[{i}].name: {name!r} is also a rule name; rename the benchmark"
            )
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

    for i, entry in enumerate(config["models"]):
        prompt = (entry.get("generation") or {}).get("prompt")
        if prompt is not None and "{problem}" not in prompt:
            raise ConfigError(f"config error: models[{i}].generation.prompt: must contain {{problem}}")
    if "{problem}" not in config["generation"]["prompt"]:
        raise ConfigError("config error: generation.prompt: must contain {problem}")

    for model, spec in models.items():
        if spec.source == "import":
            unknown = sorted(set(spec.imported["files"]) - set(benchmarks))
            if unknown:
                raise ConfigError(
                    f"config error: models[{list(models).index(model)}].import.files: "
                    f"{', '.join(unknown)} not in `benchmarks`"
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
    return Plan(config, models, variants, benchmarks, project_dir)


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


# --------------------------------------------------------------------------
# seeds


def sample_seed(base_seed: int, sample_idx: int) -> int:
    """The seed of sample index ``sample_idx``: a function of the base seed and the index alone."""
    digest = hashlib.sha256(f"justeval-seed:{base_seed}:{sample_idx}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


__all__ = [
    "ConfigError",
    "ModelSpec",
    "BenchmarkSpec",
    "Plan",
    "build_plan",
    "check_schema",
    "sample_seed",
    "pass_k_values",
]
