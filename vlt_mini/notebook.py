"""What every notebook does first: pick the profile, find the data folder, make mini-LaSOT if it is not there yet.

CI sets ``VLT_MINI_PROFILE=tiny``; elsewhere notebooks run the ``cpu`` profile (or ``paper`` on a CUDA GPU), i.e.
"the real thing", d2l-style: one switch, the same code.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vlt_mini.io import data_dir, project_root


def default_notebook_profile() -> str:
    """``$VLT_MINI_PROFILE`` if set; else ``paper`` on a CUDA GPU and ``cpu`` otherwise."""
    from vlt_mini.config import get_profile

    try:
        import torch

        fallback = "paper" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover
        fallback = "cpu"
    return get_profile(default=fallback)


@dataclass
class NotebookSetup:
    profile: str
    data: Path
    seed: int

    def mini_lasot(self, profile: str | None = None, seed: int | None = None, progress: bool = True) -> Path:
        """The mini-LaSOT root for a profile and seed, generated on first use (later calls reuse it)."""
        from vlt_mini.data.mini_lasot import generate_mini_lasot

        profile, seed = profile or self.profile, self.seed if seed is None else seed
        root = self.data / f"mini-lasot-{profile}-seed{seed}"
        return generate_mini_lasot(root, profile=profile, seed=seed, progress=progress)

    @property
    def settings(self):
        """What the narrative notebooks change at this profile (``vlt_mini.profiles.NotebookSettings``)."""
        from vlt_mini.profiles import notebook_settings

        return notebook_settings(self.profile)

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
