"""The rendered handout: notebooks executed in a fresh kernel, written as HTML with their outputs and a contents page."""
import nbformat
import pytest

from vlt_mini.cli import main
from vlt_mini.handout import NotebookFailed, course_notebooks, render_handout


def _notebook(path, *sources, title="# 99 · A small notebook"):
    cells = [nbformat.v4.new_markdown_cell(title)] + [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


@pytest.mark.slow
def test_handout_renders_outputs_and_contents(tmp_path):
    good = _notebook(tmp_path / "00_good.ipynb",
                     "import os\nprint('profile', os.environ['VLT_MINI_PROFILE'], 6 * 7)",
                     "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0]);")
    index = render_handout(tmp_path / "handout", "tiny", [good], timeout=60, progress=False)
    page = (tmp_path / "handout" / "00_good.html").read_text()
    assert "profile tiny 42" in page, "the cell's output is on the page"
    assert "data:image/png;base64" in page, "the figure is inline"
    contents = index.read_text()
    assert 'href="00_good.html"' in contents and "A small notebook" in contents and "smoke-test budget" in contents

    bad = _notebook(tmp_path / "01_bad.ipynb", "x = 1", "raise ZeroDivisionError('on purpose')", "print('never')")
    with pytest.raises(NotebookFailed, match=r"01_bad.ipynb: cell 2 failed: ZeroDivisionError: on purpose"):
        render_handout(tmp_path / "handout", "tiny", [good, bad], timeout=60, progress=False)
    assert sorted(p.name for p in (tmp_path / "handout").iterdir()) == ["00_good.html", "index.html"], \
        "a failed handout leaves the earlier one as it was"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no staging folder left behind"


def test_handout_bad_input(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="notebook not found"):
        render_handout(tmp_path / "out", "tiny", [tmp_path / "missing.ipynb"], progress=False)
    with pytest.raises(ValueError, match="unknown profile"):
        render_handout(tmp_path / "out", "laptop", [], progress=False)
    with pytest.raises(FileNotFoundError, match="no notebooks"):
        course_notebooks(tmp_path)
    assert main(["handout", "--out", str(tmp_path / "out"), "--timeout", "0"]) == 2
    assert "--timeout must be a positive" in capsys.readouterr().err
    assert [p.stem[:2] for p in course_notebooks()] == [f"{n:02d}" for n in range(8)]
