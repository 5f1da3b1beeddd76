# Parse-time setup: the package on the path, the config checked and completed, the
# Plan, every rule's params (PARAMS), the provenance prefix of every job. The checks
# of what is on disk come once every rule is declared (checks.smk).
import shlex
import subprocess
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

# The justeval package lives next to the rules: importable here, and in every
# job's `python -m justeval` (installed or not, under --sdm conda too).
PROJECT_DIR = Path(workflow.basedir)
PACKAGE_DIR = PROJECT_DIR / "workflow"
sys.path.insert(0, str(PACKAGE_DIR))

from justeval.config.params import RuleParams
from justeval.config.plan import build_plan
from justeval.config.schema import (
    ConfigError,
    check_schema,
    coerce_strings,
    fill_defaults,
)
from justeval.io.config_schema import SCHEMA_PATH
from justeval.io.hashing import canonical_json, settings_hash

# One pass over the schema (the one home of every default): short, one-line errors
# naming the key, then its defaults.
try:
    coerce_strings(config, SCHEMA_PATH)
    check_schema(config, SCHEMA_PATH)
    fill_defaults(config, SCHEMA_PATH)
    PLAN = build_plan(config, PROJECT_DIR)
except ConfigError as error:
    raise WorkflowError(str(error)) from None

# every rule's params and resources (justeval.config.params): rules name its methods
PARAMS = RuleParams(PLAN)


def _git_commit():
    try:
        out = subprocess.run(
            [
                "git",
                "-C",
                str(PROJECT_DIR),
                "describe",
                "--always",
                "--dirty",
                "--abbrev=40",
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


# Provenance written into every file's metadata: the config and the commit that
# produced it. Handed to jobs through the environment, so it never reruns one.
PROVENANCE = canonical_json(
    {"config_sha256": settings_hash(config, length=64), "git_commit": _git_commit()}
)
shell.prefix(
    f"set -euo pipefail; export PYTHONPATH={shlex.quote(str(PACKAGE_DIR))}"
    "${{PYTHONPATH:+:$PYTHONPATH}}; "
    # the prefix is formatted like a shell command: braces are doubled
    f"export JUSTEVAL_PROVENANCE={shlex.quote(PROVENANCE).replace('{', '{{').replace('}', '}}')}; "
)
