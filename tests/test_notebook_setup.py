"""The notebooks' shared set-up: profile, data folder, and the package's figures shown inline."""
import matplotlib

matplotlib.use("Agg")

import pytest
from matplotlib.figure import Figure

from vlt_mini import notebook


def test_profile_and_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("VLT_MINI_PROFILE", "tiny")
    monkeypatch.setenv("VLT_MINI_DATA", str(tmp_path / "data"))
    nb = notebook.setup()
    assert nb.profile == "tiny" and nb.data == tmp_path / "data" and nb.data.is_dir()
    assert nb.runs("07_x") == tmp_path / "data" / "runs" / "07_x" and nb.runs("07_x").is_dir()


def test_package_figures_are_drawn_by_jupyter():
    assert notebook.show_figures_inline() is False  # plain Python: nothing to register
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()  # a test IPython shell (no kernel, no history file)
    assert notebook.show_figures_inline() is True
    figure = Figure()
    figure.add_subplot().plot([0, 1], [1, 0])
    png = shell.display_formatter.formatters["image/png"].lookup(figure)(figure)  # what a kernel calls
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
