"""Figures for the report, drawn the same way by every plotting stage: matplotlib without a
display, and files that are the same bytes for the same data (no dates or software stamps,
a fixed SVG hash salt), written atomically."""

from __future__ import annotations

from pathlib import Path

from justeval.io.parquet import DataError, atomic_path


def pyplot():
    """matplotlib's pyplot on the Agg backend, with the project's settings."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "justeval", "font.size": 9})
    return plt


def save_figure(fig, outputs: list[str]) -> None:
    """Write ``fig`` to each path (its format by the suffix) and close it, whatever happens."""
    import matplotlib.pyplot as plt

    try:
        for path in outputs:
            fmt = Path(path).suffix.lstrip(".")
            # no dates or software stamps: the same data gives the same files
            metadata = {"Date": None} if fmt == "svg" else {"Software": None}
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight", metadata=metadata)
    finally:
        plt.close(fig)


def plots_by_benchmark(paths: list[str], what: str, benchmarks=None) -> dict[str, list[str]]:
    """Image files by benchmark: each is ``<folder>/<benchmark>.png`` or ``.svg`` (of one of
    ``benchmarks``, where given); anything else is one error line naming the file."""
    out: dict[str, list[str]] = {}
    for path in paths:
        p = Path(path)
        if p.suffix not in (".png", ".svg") or (benchmarks is not None and p.stem not in benchmarks):
            of = " of a benchmark of the run" if benchmarks is not None else ""
            raise DataError(f"{path}: a {what} plot is <benchmark>.png or .svg{of}")
        out.setdefault(p.stem, []).append(path)
    return out
