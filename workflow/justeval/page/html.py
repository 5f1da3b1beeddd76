"""HTML of the results page: escaping, tables, the document shell, the shipped assets.

Every text that comes from a file (a model's response, a problem, a table cell, a
column name) goes through ``esc``: it is data, never markup. Per-problem data goes to
the browser as JSON in script files, and the page's script sets it as text. The pages'
scripts and styles are files of this package (``assets/``), inlined, so a page opens
with no network.
"""

from __future__ import annotations

import html
import math
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import pandas as pd

from justeval.io.parquet import file_mode


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def asset(name: str) -> str:
    return resources.files("justeval.page").joinpath("assets", name).read_text(encoding="utf-8")


def document(title: str, body: str, scripts: list[str] = (), styles: list[str] = ("page.css",)) -> str:
    """A whole page: the assets inlined, a policy that refuses every network fetch."""
    policy = (
        "default-src 'none'; script-src 'unsafe-inline' file: 'self'; style-src 'unsafe-inline'; "
        "img-src data:; font-src data:"
    )
    css = "".join(f"<style>{asset(s)}</style>" for s in styles)
    js = "".join(f"<script>{asset(s)}</script>" for s in scripts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>{css}</head>\n<body>\n{body}\n{js}</body></html>\n"
    )


def number(value, decimals: int = 2) -> str:
    """A cell as shown: numbers rounded, missing values blank."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{decimals}f}"
    return str(value)


def sort_key(value) -> str:
    """The value a sortable column orders by (full precision; blank sorts last)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def table(frame: pd.DataFrame, table_id: str, caption: str = "", links: dict[int, str] | None = None) -> str:
    """A sortable table of ``frame``: each cell shows its value rounded and carries
    the full value in ``data-value``; ``links`` maps a row number to a page whose
    link its first cell holds."""
    links = links or {}
    head = "".join(f'<th scope="col" data-column="{esc(c)}">{esc(c)}</th>' for c in frame.columns)
    rows = []
    for i, values in enumerate(frame.itertuples(index=False, name=None)):
        cells = []
        for j, value in enumerate(values):
            shown = esc(number(value))
            if j == 0 and i in links:
                shown = f'<a href="{esc(links[i])}">{shown}</a>'
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            cls = ' class="num"' if numeric else ""
            cells.append(f'<td{cls} data-value="{esc(sort_key(value))}">{shown}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (
        f'<table class="sortable" id="{esc(table_id)}">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def write_directory(path: str | Path, files: dict[str, str]) -> None:
    """A folder of text files written whole or not at all: built beside ``path``,
    then renamed over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        mode = file_mode()
        for name, text in files.items():
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            target.chmod(mode)
        for folder in [tmp, *(p for p in tmp.rglob("*") if p.is_dir())]:
            folder.chmod(mode | ((mode & 0o444) >> 2))  # searchable where readable
        if path.exists():
            shutil.rmtree(path)
        tmp.rename(path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
