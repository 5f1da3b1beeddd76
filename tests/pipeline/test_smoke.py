"""The README's smoke run, as a user runs it: `snakemake --cores 2 --configfile
tests/smoke/config.yaml`, the config file unchanged (its paths are relative:
../shared/benchmarks beside the project), in a scratch copy of the working directory.

The smoke policy answers \\boxed{113}, the gold of AIME24's second problem, so the table
is known exactly (see tests/smoke/config.yaml): AIME24 33.33, HMMT25 0.00, Avg 16.67.
The run builds the results page too, whose headline says the same.
"""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import ROOT, SHARED, new_workdir, run_snakemake

pytestmark = pytest.mark.pipeline


def test_the_smoke_run_gives_the_known_table_and_its_page(tmp_path):
    (tmp_path / "shared").symlink_to(SHARED)  # ../shared, as beside the project
    workdir = new_workdir(tmp_path / "project")
    run_snakemake(
        workdir, "--cores", "2", "--quiet", "rules", configfiles=[ROOT / "tests" / "smoke" / "config.yaml"]
    )
    table = pd.read_csv(workdir / "results" / "tables" / "accuracy.csv").set_index("model")
    got = table.loc["tiny-113", ["AIME24 (@2)", "HMMT25 (@2)", "Avg"]].round(2).tolist()
    assert got == [33.33, 0.0, 16.67]
    headline = (workdir / "results" / "page" / "headline.html").read_text()
    assert all(f">{v}<" in headline or f">{v}</a>" in headline for v in ("33.33", "0.00", "16.67"))
    assert (workdir / "results" / "index.html").is_file()
    assert sorted(p.name for p in (workdir / "results" / "page" / "tiny-113").iterdir()) == [
        "AIME24",
        "HMMT25",
    ]
