"""The cache of parsed annotations (vlt_mini/data/annotation_cache.py): the same dataset as parsing gives, rebuilt as
soon as a file changes, off with VLT_MINI_CACHE=off, and never in the way of the readers' errors."""
import os

import numpy as np
import pytest

from vlt_mini.data import annotation_cache, lasot
from vlt_mini.data.lasot import open_lasot


@pytest.fixture
def toolkit(tmp_path, monkeypatch):
    root = tmp_path / "annos"
    for folder in ("groundtruth", "absent", "nlp", "att"):
        (root / folder).mkdir(parents=True)
    for name, frames in (("bird-3", 4), ("car-7", 3)):
        (root / "groundtruth" / f"{name}.txt").write_text("".join(f"{i + 1}.5,2,30,40\n" for i in range(frames)))
        (root / "absent" / f"{name}.txt").write_text("0\n" * (frames - 1) + "1\n")
        (root / "nlp" / f"{name}.txt").write_text(f"the {name[:-2]} in front")
        (root / "att" / f"{name}.txt").write_text("1,0,0,0,0,0,0,0,0,0,0,0,0,1\n")
    (root / "testing_set.txt").write_text("car-7\nbird-3")
    monkeypatch.setenv("VLT_MINI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(annotation_cache, "SMALLEST_CACHED", 0)   # cache even this small set
    return root


def snapshot(dataset):
    return [(s.name, s.ground_truth.tolist(), s.visible.tolist(), s.sentence, s.attributes) for s in dataset]


def test_cached_dataset_equals_the_parsed_one_and_skips_parsing(toolkit, tmp_path, monkeypatch):
    parsed = open_lasot(toolkit)
    assert len(list((tmp_path / "cache").glob("lasot-toolkit-*.npz"))) == 1
    monkeypatch.setattr(lasot, "read_boxes", lambda *args, **kwargs: pytest.fail("parsed although cached"))
    cached = open_lasot(toolkit)
    assert snapshot(cached) == snapshot(parsed)
    assert cached["car-7"].ground_truth.dtype == np.float64 and cached["car-7"].visible.dtype == bool


def test_a_changed_file_is_parsed_again(toolkit):
    open_lasot(toolkit)
    truth = toolkit / "groundtruth" / "car-7.txt"
    status = os.stat(truth)
    truth.write_text("9.5,2,30,40\n2.5,2,30,40\n3.5,2,30,40\n")      # same size, same modification time
    os.utime(truth, ns=(status.st_atime_ns, status.st_mtime_ns + 1))  # ... but one nanosecond later
    assert open_lasot(toolkit)["car-7"].ground_truth[0, 0] == 9.5
    sentence = toolkit / "nlp" / "bird-3.txt"
    sentence.write_text("the small bird on the left")
    assert open_lasot(toolkit)["bird-3"].sentence == "the small bird on the left"


def test_errors_still_name_the_file_and_line(toolkit):
    open_lasot(toolkit)
    (toolkit / "absent" / "bird-3.txt").write_text("0\n0\n7\n0\n")
    with pytest.raises(lasot.DataFormatError, match=r"bird-3.txt:3: flag 7"):
        open_lasot(toolkit)
    (toolkit / "att" / "car-7.txt").unlink()
    with pytest.raises(FileNotFoundError, match="car-7.txt"):
        open_lasot(toolkit)


def test_off_broken_or_unwritable_cache_is_ignored(toolkit, tmp_path, monkeypatch):
    monkeypatch.setenv("VLT_MINI_CACHE", "off")
    parsed = snapshot(open_lasot(toolkit))
    assert not (tmp_path / "cache").exists()
    monkeypatch.setenv("VLT_MINI_CACHE", str(tmp_path / "cache"))
    open_lasot(toolkit)
    (stored,) = (tmp_path / "cache").glob("*.npz")
    stored.write_bytes(stored.read_bytes()[:100])                    # truncated: parsed again and rewritten
    assert snapshot(open_lasot(toolkit)) == parsed
    assert snapshot(open_lasot(toolkit)) == parsed and stored.stat().st_size > 100
    (tmp_path / "blocked").write_text("a file where the cache folder should be")
    monkeypatch.setenv("VLT_MINI_CACHE", str(tmp_path / "blocked"))
    assert snapshot(open_lasot(toolkit)) == parsed
