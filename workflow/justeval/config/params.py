"""Every rule's params and resources, built in one place from the Plan.

A rule's params hold everything that changes its result (settings and the code
version of the modules that decide it, see :mod:`justeval.config.code_versions`),
as canonical JSON: Snakemake reruns a job exactly when one of them changes.
Settings that never change a result (engine throughput options, caches, cluster
requests) are resources, which Snakemake does not track.

``workflow/rules/setup.smk`` makes one ``RuleParams`` (PARAMS) and the rules name its
methods; each takes the job's wildcards, as Snakemake calls them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from justeval.config.code_versions import code_version
from justeval.config.plan import SAMPLING_KEYS, Plan
from justeval.io.hashing import canonical_json, sha256_file


class RuleParams:
    def __init__(self, plan: Plan, package_dir: str | Path | None = None):
        self.plan = plan
        self.config = plan.config
        # editing a grader regrades; editing the engine wrapper never regenerates
        self.versions = {
            stage: code_version(stage, package_dir)
            for stage in ("prepare_benchmark", "import_generations", "rule_grade", "model_grade")
        }
        self.versions["aggregate"] = code_version("aggregate", package_dir)
        self.versions["report"] = code_version("report", package_dir) + code_version("plots", package_dir)
        self.versions["cost"] = code_version("cost", package_dir)
        self.versions["overlap"] = code_version("overlap", package_dir)
        self.versions["overlap_accuracy"] = code_version("overlap_accuracy", package_dir)
        for stage in (
            "truncation",
            "samples_needed",
            "coverage",
            "checkpoint_changes",
            "budget_grade",
            "budget_table",
            "problem_view",
            "results_page",
        ):
            self.versions[stage] = code_version(stage, package_dir)

    # ---------------------------------------------------------------- models and benchmarks

    def model(self, wildcards) -> str:
        """What identifies a model's weights (revision, folder, tiny recipe)."""
        return canonical_json(self.plan.all_models[wildcards.model].identity())

    def benchmark(self, wildcards) -> str:
        """What the prepared file depends on; a sha256 pin only checks (see check_pin)."""
        bench = self.plan.benchmarks[wildcards.benchmark]
        settings = {
            "source": bench.source,
            "limit": bench.limit,
            "version": self.versions["prepare_benchmark"],
        }
        if bench.rows is not None:  # a local source: the rows it gives, not the file's mtime
            settings["rows"] = bench.rows
        return canonical_json(settings)

    def benchmark_pin(self, wildcards) -> str:
        """The sha256 pin (a resource: it checks the source, it does not change the file)."""
        return self.plan.benchmarks[wildcards.benchmark].sha256 or "none"

    # ---------------------------------------------------------------- samples

    def generation_settings(self, model: str, benchmark: str) -> dict:
        """The settings that decide a model's samples on a benchmark."""
        spec = self.plan.models[model]
        gen = {k: self.config["generation"][k] for k in SAMPLING_KEYS}
        gen.update(spec.generation or {})
        return {"model": spec.identity(), **gen}

    def generate(self, wildcards) -> str:
        """One generate job: its settings and the shard's sample range."""
        bench = self.plan.benchmarks[wildcards.benchmark]
        start, stop = bench.shard_samples(int(wildcards.shard))
        settings = self.generation_settings(wildcards.model, wildcards.benchmark)
        return canonical_json({"settings": settings, "samples": [start, stop]})

    def import_generations(self, wildcards) -> str:
        """The format (resolved), the reader's options and the tokenizer: an import's N
        and problems are what its files hold."""
        spec = self.plan.models[wildcards.model]
        return canonical_json(
            {
                "format": spec.imported["format"],
                "options": spec.imported["options"],
                "tokenizer": spec.imported.get("tokenizer"),
                "version": self.versions["import_generations"],
            }
        )

    def provided_verdicts(self, wildcards) -> str:
        return canonical_json({"version": self.versions["import_generations"]})

    # ---------------------------------------------------------------- grading

    def rule_grade(self, wildcards) -> str:
        rg = self.plan.variants[wildcards.variant].rule_grade
        return canonical_json(
            {"grader": rg["grader"], "timeout": rg["timeout"], "version": self.versions["rule_grade"]}
        )

    def clustering_grader(self, variant: str) -> dict:
        """The rule grader that decides which final answers are the same (maj@k, the
        drill-down's answer groups): the variant's own; a `provided` variant has none,
        so it uses the top-level `rule_grade` section."""
        rg = self.plan.variants[variant].rule_grade or self.config["rule_grade"]
        return {"grader": rg["grader"], "timeout": rg["timeout"]}

    def model_grade(self, wildcards) -> str:
        v = self.plan.variants[wildcards.variant]
        mg = v.model_grade
        settings: dict[str, Any] = {"enabled": mg["enabled"]}
        if mg["enabled"]:
            prompt = self.plan.verifier_prompt_path(wildcards.variant)
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
                parse_version=self.versions["model_grade"],
            )
        return canonical_json(settings)

    # ---------------------------------------------------------------- metrics and report

    def aggregate(self, wildcards) -> str:
        bench = self.plan.benchmarks[wildcards.benchmark]
        agg = self.config["aggregate"]
        imported = self.plan.models[wildcards.model].source == "import"
        return canonical_json(
            {
                # an import: the problems its files cover, each with the samples it has
                "n_samples": None if imported else bench.n_samples,
                "pass_k": self.plan.pass_k(bench.name),
                "bootstrap_samples": agg["bootstrap_samples"],
                "seed": agg["seed"],
                "clustering": self.clustering_grader(wildcards.variant),
                "version": self.versions["aggregate"],
            }
        )

    def drilldown(self, wildcards) -> str:
        """The primary variant's rule grader groups each problem's answers."""
        return canonical_json(
            {**self.clustering_grader(self.plan.primary.name), "version": self.versions["rule_grade"]}
        )

    def layout(self, wildcards=None) -> str:
        """What the cross-model files show: models, benchmarks, variants, comparisons."""
        plan, agg = self.plan, self.config["aggregate"]
        return canonical_json(
            {
                "models": {
                    m: {"step": s.step, "run": s.run, "published": s.published}
                    for m, s in plan.models.items()
                },
                "benchmarks": {b: plan.benchmarks[b].n_samples for b in plan.benchmarks},
                # canonical JSON sorts keys: the config order is said separately
                "order": {"models": list(plan.models), "benchmarks": list(plan.benchmarks)},
                "variants": list(plan.variants),
                "compare": agg["compare"],
                "bootstrap_samples": agg["bootstrap_samples"],
                "seed": agg["seed"],
                "version": self.versions["aggregate"],
                "report_version": self.versions["report"],
            }
        )

    def cost(self, wildcards=None) -> str:
        """The order of the cost table's rows."""
        order = {"models": list(self.plan.models), "benchmarks": list(self.plan.benchmarks)}
        return canonical_json({"order": order, "version": self.versions["cost"]})

    def overlap(self, wildcards=None) -> str:
        """How problems are compared and classed: the training sets by name and columns
        (their files are the rule's inputs), the overlap settings, and the primary
        variant's rule grader, which compares a training answer with the gold."""
        ov = self.config["overlap"]
        grader = self.clustering_grader(self.plan.primary.name)
        return canonical_json(
            {
                "train": ov["train"],
                **{k: ov[k] for k in ("ngram", "threshold", "word_threshold", "num_perm")},
                "grader": grader["grader"],
                "grader_timeout": grader["timeout"],
                "version": self.versions["overlap"],
            }
        )

    def overlap_accuracy(self, wildcards=None) -> str:
        """The order of the accuracy rows, the training sets' order, the bootstrap."""
        agg = self.config["aggregate"]
        return canonical_json(
            {
                "train": [{"name": t["name"]} for t in self.config["overlap"]["train"]],
                "models": list(self.plan.models),
                "benchmarks": list(self.plan.benchmarks),
                "variants": list(self.plan.variants),
                "bootstrap_samples": agg["bootstrap_samples"],
                "seed": agg["seed"],
                "version": self.versions["overlap_accuracy"],
            }
        )

    def _analysis(self, stage: str, keys: tuple[str, ...], **extra) -> str:
        """An analysis rule's settings: the run's layout (models with their steps,
        benchmarks with N, variants, in config order), its `analysis` keys, and its code."""
        plan, agg = self.plan, self.config["aggregate"]
        return canonical_json(
            {
                "models": {m: {"step": s.step, "run": s.run} for m, s in plan.models.items()},
                "benchmarks": {b: plan.benchmarks[b].n_samples for b in plan.benchmarks},
                "order": {"models": list(plan.models), "benchmarks": list(plan.benchmarks)},
                "variants": list(plan.variants),
                "bootstrap_samples": agg["bootstrap_samples"],
                "seed": agg["seed"],
                **{k: self.config["analysis"][k] for k in keys},
                **extra,
                "version": self.versions[stage],
            }
        )

    def problem_view(self, wildcards) -> str:
        """Which cell a problem view shows (the primary variant's verdicts), and its code."""
        return canonical_json(
            {
                "model": wildcards.model,
                "benchmark": wildcards.benchmark,
                "variant": self.plan.primary.name,
                "version": self.versions["problem_view"],
            }
        )

    def results_page(self, wildcards=None) -> str:
        """The run's layout (the headline table's rows, columns and links) and the code."""
        return self._analysis("results_page", ())

    def trackers(self, wildcards=None) -> str:
        """Where the run is logged (the `trackers` section); the tables are the inputs."""
        return canonical_json(self.config["trackers"])

    def truncation(self, wildcards=None) -> str:
        keys = ("loop_max_period", "loop_min_repeats", "loop_min_chars", "truncation_examples")
        return self._analysis("truncation", keys)

    def samples_needed(self, wildcards=None) -> str:
        return self._analysis(
            "samples_needed", ("target_halfwidth",), compare=self.config["aggregate"]["compare"]
        )

    def coverage(self, wildcards=None) -> str:
        pairs = [{"base": b, "model": m} for b, m in self.plan.coverage_pairs()]
        return self._analysis("coverage", (), coverage=pairs)

    def checkpoint_changes(self, wildcards=None) -> str:
        return self._analysis("checkpoint_changes", ("fdr", "selection_splits"))

    def budget_grade(self, wildcards) -> str:
        """One model, benchmark and variant's budget curve: its budgets, the variant's rule
        grader (none for provided verdicts), whether its verifier judges the cut texts."""
        v = self.plan.variants[wildcards.variant]
        rule = (
            {"grader": v.rule_grade["grader"], "timeout": v.rule_grade["timeout"]} if v.rule_grade else None
        )
        return canonical_json(
            {
                "budgets": self.plan.budgets(wildcards.model),
                "rule_grade": rule,
                "verifier": bool(v.model_grade["enabled"]),
                "version": self.versions["budget_grade"],
            }
        )

    def budget_tokenizer(self, wildcards) -> str:
        """An import's tokenizer (it has no model folder); '' where the manifest has one."""
        spec = self.plan.models[wildcards.model]
        return (spec.imported or {}).get("tokenizer") or ""

    def budget_table(self, wildcards=None) -> str:
        return self._analysis("budget_table", ())

    def primary_variant(self, wildcards=None) -> str:
        """Settings of the plots that show only the primary grading variant."""
        return canonical_json({"variants": [self.plan.primary.name], "version": self.versions["report"]})

    # ---------------------------------------------------------------- resources
    # Settings that never change a result, and the cluster requests of the engine jobs
    # (a retried job asks for more time and memory).

    def engine_options(self, wildcards) -> str:
        """Throughput options of an engine job (generate, model_grade), the one road by
        which they reach either: the `engine` section, plus the server where the model
        the job's engine serves is an endpoint (a generate job of a served model; a
        verifier always has weights of its own)."""
        options = dict(self.config["engine"])
        served = self._served(wildcards)
        if served is not None and served.source == "endpoint":
            options["endpoint"] = served.endpoint
        return canonical_json(options)

    def hub_cache(self, wildcards=None) -> str:
        """Where hub downloads go ('default': huggingface_hub's own cache)."""
        return self.config["hub_cache"] or "default"

    def verifier_cache(self, wildcards=None) -> str:
        """The per-row verifier cache folder: it decides what is recomputed, never a result."""
        return self.config["model_grade"]["cache"]

    def _served(self, wildcards):
        """The model an engine job's engine serves: a model_grade job's verifier (None
        when its variant has none), a generate job's model."""
        variant = getattr(wildcards, "variant", None)
        return self.plan.variants[variant].verifier if variant else self.plan.all_models[wildcards.model]

    def _remote(self, wildcards) -> bool:
        """Whether the job loads no weights: it sends requests to a served model, or (a
        model_grade job of a variant without a verifier) it only copies verdicts."""
        served = self._served(wildcards)
        return served is None or served.source == "endpoint"

    def engine_gpus(self, wildcards) -> int:
        """GPUs an engine job takes: the engine's tensor-parallel size; none for a job
        that loads no weights (a served model's requests need no GPU of their own)."""
        return 0 if self._remote(wildcards) else int(self.config["engine"]["tensor_parallel_size"])

    def engine_cpus(self, wildcards) -> int:
        """CPUs an engine job asks a cluster for: 8 to feed an engine, 1 otherwise."""
        return 1 if self._remote(wildcards) else 8

    def engine_mem_mb(self, wildcards, attempt) -> int:
        """Memory an engine job asks for, more at each retry; 4 GB where it loads no weights."""
        return (4000 if self._remote(wildcards) else 32000) * attempt

    @staticmethod
    def runtime_generate(wildcards, attempt) -> int:
        return 720 * attempt

    @staticmethod
    def runtime_model_grade(wildcards, attempt) -> int:
        return 120 * attempt
