"""A rendered handout: every notebook executed at one profile and written as HTML with its outputs, plus a contents
page, so that an instructor can publish one folder.

    vlt-mini handout --profile cpu --out handout/

Each notebook runs in a fresh kernel (nbclient, through nbconvert's ``ExecutePreprocessor``) in the notebooks'
folder with ``VLT_MINI_PROFILE`` set; the pages are written to a temporary folder beside ``out`` and moved into place
only when every notebook has run, so a failure leaves an earlier handout untouched. A failing cell stops the handout
with an error naming the notebook, the cell and the exception.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

from vlt_mini.arguments import add_profile_argument
from vlt_mini.config import check_profile
from vlt_mini.io import project_root

INDEX = "index.html"


class NotebookFailed(RuntimeError):
    """A notebook cell raised while the handout ran it."""

    def __init__(self, notebook: Path, cell: int | None, error: str) -> None:
        where = f"cell {cell}" if cell is not None else "a cell"
        super().__init__(f"{notebook.name}: {where} failed: {error}")
        self.notebook, self.cell, self.error = notebook, cell, error


def course_notebooks(folder: Path | None = None) -> list[Path]:
    """The course's notebooks in order (``notebooks/NN_*.ipynb`` of the checkout, or of ``folder``)."""
    if folder is None:
        root = project_root()
        if root is None:
            raise FileNotFoundError("no vlt-mini checkout here: run from the checkout or pass the notebooks")
        folder = root / "notebooks"
    notebooks = sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks (NN_name.ipynb) in {folder}")
    return notebooks


@contextmanager
def _environment(values: dict[str, str]):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def notebook_title(notebook) -> str:
    """The first markdown heading of a notebook (its file name's stem where it has none)."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return ""


def execute_notebook(path: Path, profile: str, timeout: int | None = None, kernel_name: str = "python3"):
    """Run ``path`` top to bottom in a fresh kernel at ``profile`` (in the notebook's folder); returns the executed
    ``nbformat`` notebook, or raises ``NotebookFailed`` naming the cell (0-based index, as nbval and ``nbformat``
    count) that failed."""
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError
    from nbconvert.preprocessors import ExecutePreprocessor

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"notebook not found: {path}")
    try:
        notebook = nbformat.read(path, as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as error:
        raise ValueError(f"{path}: not a notebook ({error})") from error
    runner = ExecutePreprocessor(timeout=timeout, kernel_name=kernel_name)
    with _environment({"VLT_MINI_PROFILE": profile}):
        try:
            runner.preprocess(notebook, {"metadata": {"path": str(path.parent)}})
        except (CellExecutionError, CellTimeoutError) as error:
            cell = next((index for index, c in enumerate(notebook.cells)
                         if any(output.get("output_type") == "error" for output in c.get("outputs", []))), None)
            if isinstance(error, CellExecutionError) and error.ename:
                summary = f"{error.ename}: {error.evalue}"
            else:
                summary = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise NotebookFailed(path, cell, summary) from None
    return notebook


def notebook_html(notebook) -> str:
    """One executed notebook as a standalone HTML page (JupyterLab's look, images inline)."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    return body


def _index_page(entries: list[dict], profile: str, seconds: float) -> str:
    rows = "\n".join(
        f'<li><a href="{html.escape(entry["page"])}">{html.escape(entry["title"] or entry["name"])}</a> '
        f'<small>({entry["seconds"]:.0f} s)</small></li>' for entry in entries)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    note = ""
    if profile == "tiny":  # each notebook's own banner says the same above its trained results
        note = ('<p style="background:#fff3cd;padding:4px 8px">Rendered at <code>tiny</code>, a smoke-test budget: the '
                "trained results in these pages are noise; the measured ones are the <code>cpu</code> results "
                "committed under <code>results/</code> and in the README.</p>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>vlt-mini: the course</title>
<style>body {{ font-family: sans-serif; max-width: 46em; margin: 2em auto; line-height: 1.5 }}</style></head>
<body>
<h1>vlt-mini: vision-language tracking, step by step</h1>
<p>A reproduction of "Divert More Attention to Vision-Language Tracking" (VLT, NeurIPS 2022), one notebook per
step. Every page below was executed top to bottom at the <code>{html.escape(profile)}</code> profile
({when}, {seconds / 60:.1f} minutes in all); interactive widgets need a live kernel and are not drawn here.</p>
{note}
<ol start="0">
{rows}
</ol>
</body></html>
"""


def render_handout(out: Path, profile: str = "cpu", notebooks: Sequence[Path] | None = None,
                   timeout: int | None = None, progress: bool = True) -> Path:
    """Execute ``notebooks`` (default: the course's) at ``profile`` and write ``out/<notebook>.html`` for each and
    ``out/index.html``; returns the index. ``out`` is replaced as a whole, and only once every notebook has run."""
    check_profile(profile)
    paths = [Path(p) for p in notebooks] if notebooks is not None else course_notebooks()
    if not paths:
        raise ValueError("no notebooks to render")
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"notebook not found: {path}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp's folder is private; a published handout is read by a web server
    try:
        entries, started = [], time.perf_counter()
        for number, path in enumerate(paths, 1):
            if progress:
                print(f"[{number}/{len(paths)}] {path.name} at {profile} ...", flush=True)
            began = time.perf_counter()
            executed = execute_notebook(path, profile, timeout=timeout)
            page = f"{path.stem}.html"
            (staging / page).write_text(notebook_html(executed), encoding="utf-8")
            entries.append(dict(name=path.stem, title=notebook_title(executed), page=page,
                                seconds=time.perf_counter() - began))
        (staging / INDEX).write_text(_index_page(entries, profile, time.perf_counter() - started), encoding="utf-8")
        if out.exists():
            retired = out.with_name(f".{out.name}-old-{os.getpid()}")
            out.rename(retired)
            staging.rename(out)
            shutil.rmtree(retired)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out / INDEX


def add_handout_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Execute every notebook at a profile and write HTML pages with their outputs and a contents page."
    parser.add_argument("--out", required=True, type=Path, help="folder for the pages (replaced when all notebooks ran)")
    add_profile_argument(parser, "the profile the notebooks run at")
    parser.add_argument("--notebooks", nargs="+", type=Path, help="these notebooks instead of the course's")
    parser.add_argument("--timeout", type=int, default=None, help="seconds a cell may run (default: no limit)")
    parser.add_argument("--no-progress", action="store_true", help="do not print each notebook as it starts")


def command_handout(args) -> None:
    if args.timeout is not None and args.timeout <= 0:
        raise ValueError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    try:
        index = render_handout(args.out, args.profile, args.notebooks, args.timeout, progress=not args.no_progress)
    except NotebookFailed as error:
        raise ValueError(f"{error} (nothing written to {args.out})") from None
    pages = sorted(index.parent.glob("*.html"))
    size = sum(page.stat().st_size for page in pages)
    print(f"handout: {len(pages) - 1} notebooks at {args.profile} -> {index} ({size / 1e6:.1f} MB)")
