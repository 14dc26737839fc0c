"""What every notebook does first: pick the profile, find the data folder, make mini-LaSOT if it is not there yet.

CI sets ``VLT_MINI_PROFILE=tiny``; elsewhere notebooks run the ``cpu`` profile (``colab`` on a CUDA GPU: a free Colab
session's budget; ``paper`` only when asked for), i.e. "the real thing", d2l-style: one switch, the same code.

Every notebook starts with an install cell that clones ``REPOSITORY_URL`` and installs it where ``vlt_mini`` cannot be
imported (Colab); the cell repeats the URL (the package is not importable yet when it runs) and
``tests/test_course.py`` checks that it and the notebooks' "Open in Colab" links agree with ``REPOSITORY_URL``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vlt_mini.io import data_dir, project_root

REPOSITORY_URL = "https://github.com/vlt-mini/vlt-mini"  # where the notebooks' install cell and Colab links point
COMMITTED_RESULTS = "results/ablations-cpu-v2"  # the measured cpu tables shipped with the checkout


def default_notebook_profile() -> str:
    """``$VLT_MINI_PROFILE`` if set; else ``colab`` on a CUDA GPU and ``cpu`` otherwise (``paper``, 12.8 GB of
    mini-LaSOT and hours of training, only when ``VLT_MINI_PROFILE=paper`` asks for it)."""
    from vlt_mini.config import get_profile

    try:
        import torch

        fallback = "colab" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover
        fallback = "cpu"
    return get_profile(default=fallback)


def colab_url(notebook: str) -> str:
    """The "Open in Colab" address of ``notebooks/<notebook>`` in ``REPOSITORY_URL``'s main branch."""
    path = REPOSITORY_URL.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{path}/blob/main/notebooks/{notebook}"


def smoke_test_banner(profile: str) -> str | None:
    """One honest line for a notebook that shows trained results: at ``tiny`` the networks train for a few
    iterations, so their numbers are noise; the measured ones are the committed ``cpu`` results. None otherwise."""
    if profile != "tiny":
        return None
    return (f"profile tiny: a smoke-test budget (a few training iterations, a handful of short videos): these "
            f"numbers are noise, not results. The measured cpu numbers are in {COMMITTED_RESULTS}/ and the README.")


class _Banner:
    """A line Jupyter shows highlighted (HTML) and plain outputs (nbval, the handout's text) show as text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"NOTE: {self.text}"

    def _repr_html_(self) -> str:
        import html

        return ('<div style="background:#fff3cd;border-left:4px solid #e0a800;padding:4px 8px;margin:2px 0">'
                f"&#9888; {html.escape(self.text)}</div>")


def show_smoke_test_banner(profile: str) -> None:
    """Display ``smoke_test_banner`` in a notebook (printed outside IPython); nothing off ``tiny``."""
    text = smoke_test_banner(profile)
    if text is None:
        return
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(f"NOTE: {text}")
    else:
        display(_Banner(text))


@dataclass
class NotebookSetup:
    profile: str
    data: Path
    seed: int

    def mini_lasot(self, profile: str | None = None, seed: int | None = None, progress: bool = True) -> Path:
        """The mini-LaSOT root for a profile and seed, generated on first use (later calls reuse it)."""
        from vlt_mini.data.mini_lasot import default_folder_name, generate_mini_lasot

        profile, seed = profile or self.profile, self.seed if seed is None else seed
        root = self.data / default_folder_name(profile, seed)
        return generate_mini_lasot(root, profile=profile, seed=seed, progress=progress)

    @property
    def settings(self):
        """What the narrative notebooks change at this profile (``vlt_mini.profiles.NotebookSettings``)."""
        from vlt_mini.profiles import notebook_settings

        return notebook_settings(self.profile)

    def show_banner(self) -> None:
        """The smoke-test banner (``show_smoke_test_banner``) at this profile, above trained results."""
        show_smoke_test_banner(self.profile)

    def runs(self, name: str) -> Path:
        """A folder for what a notebook writes (results, checkpoints, plots)."""
        folder = self.data / "runs" / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def setup(seed: int = 0) -> NotebookSetup:
    """Seed everything, set readable plot defaults, and say which profile runs and where data goes."""
    import random

    import matplotlib
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover
        pass
    matplotlib.rcParams.update({"figure.dpi": 90, "axes.grid": True, "grid.alpha": 0.3})
    show_figures_inline()
    profile = default_notebook_profile()
    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    print(f"profile: {profile} (set VLT_MINI_PROFILE to change) | data: {folder}")
    return NotebookSetup(profile, folder, seed)


def rgb(image):
    """An image as ``imshow`` wants it: a BGR (H, W, 3) uint8 array (OpenCV, the readers) -> RGB uint8; a BGR
    (3, H, W) 0-255 tensor (a training crop) -> RGB (H, W, 3) floats in 0..1."""
    import numpy as np

    if hasattr(image, "permute"):  # a torch tensor, channels first
        return image.detach().cpu().permute(1, 2, 0).numpy()[..., ::-1] / 255.0
    return np.ascontiguousarray(np.asarray(image)[..., ::-1])


def show_box(ax, box, colour: str = "lime", **style) -> None:
    """Draw an (x, y, w, h) box on a matplotlib axis; ``style`` goes to the Rectangle (``ls``, ``label``, ``lw``)."""
    from matplotlib.patches import Rectangle

    x, y, w, h = (float(v) for v in box)
    ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor=colour, linewidth=style.pop("lw", 1.5), **style))


def show_corners(ax, box, colour: str = "lime", **style) -> None:
    """``show_box`` for an (x1, y1, x2, y2) box (crop windows, training targets)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    show_box(ax, (x1, y1, x2 - x1, y2 - y1), colour, **style)


def show_figures_inline(dpi: int = 90) -> bool:
    """Let Jupyter draw the ``matplotlib.figure.Figure`` objects the package returns (``ope_figure(scores)`` as a
    cell's last line, or ``display(figure)``): those figures are not pyplot's, so the inline backend does not know
    them. Registers a PNG formatter; False outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    shell = get_ipython()
    if shell is None:
        return False
    from matplotlib.figure import Figure

    from vlt_mini.evaluation.plots import figure_png

    def png(figure: Figure) -> bytes | None:
        if getattr(figure.canvas, "manager", None) is not None:
            return None  # a pyplot figure: the inline backend shows it when the cell ends
        return figure_png(figure, dpi=dpi)

    shell.display_formatter.formatters["image/png"].for_type(Figure, png)
    return True
