"""Hostile inputs through the command line: every bad input, stale folder, bad frame, wrong checkpoint and
operating-system error ends with exit status 2 and one message naming the file / argument and what to do, never a
traceback, and leaves nothing behind. The commands run in-process (``vlt_mini.cli.main``) except where a fresh
interpreter is the point (imports, ``--no-progress``)."""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from vlt_mini.cli import main
from vlt_mini.io import atomic_torch_save
from vlt_mini.models import VLTConfig, VLTNet
from vlt_mini.models.vlt import model_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------ helpers
def fails(capsys, argv, *fragments, code=2) -> str:
    """Run the command; assert its exit status, that stderr names every fragment, and that it shows no traceback."""
    status = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert status == code, err
    assert "Traceback" not in err and err.count("error:") == 1, err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"
    return err


def succeeds(capsys, argv) -> str:
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return captured.out


def write_frames(folder: Path, count: int = 4, size=(96, 128), channels: int = 3, suffix: str = ".jpg") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        image = np.full((*size, 3), 60, np.uint8)
        image[30:50, 40 + 2 * index:60 + 2 * index] = (40, 40, 220)
        if channels == 1:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        elif channels == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
        path = folder / f"{index + 1:08d}{suffix}"
        assert cv2.imwrite(str(path), image)
        paths.append(path)
    return paths


def lasot_dataset(root: Path, frames: int = 4, first_box="40,30,20,20", name="cube-1") -> Path:
    """A one-video LaSOT (dataset layout) with ``frames`` frames."""
    folder = root / name.rsplit("-", 1)[0] / name
    write_frames(folder / "img", frames)
    boxes = [first_box] + [f"{40 + 2 * i},30,20,20" for i in range(1, frames)]
    (folder / "groundtruth.txt").write_text("".join(f"{b}\n" for b in boxes[:frames]))
    for flags in ("full_occlusion.txt", "out_of_view.txt"):
        (folder / flags).write_text(",".join("0" * frames) + "\n")
    (folder / "nlp.txt").write_text("a red block")
    (root / "testing_set.txt").write_text(f"{name}\n")
    return root


def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Tiny checkpoints of every kind, plus files that only pretend to be checkpoints."""
    folder = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    paths = {}
    siamcar = VLTNet(VLTConfig.for_profile("tiny", use_modamixer=False))
    paths["siamcar"] = folder / "siamcar.pt"
    atomic_torch_save(model_checkpoint(siamcar, kind="siamcar", text_model="minilm"), paths["siamcar"])
    other = VLTNet(VLTConfig.for_profile("tiny", use_modamixer=False))  # other random weights
    paths["siamcar-other"] = folder / "siamcar-other.pt"
    atomic_torch_save(model_checkpoint(other, kind="siamcar"), paths["siamcar-other"])
    vlt = VLTNet(VLTConfig.for_profile("tiny"))
    paths["supernet"] = folder / "supernet.pt"
    atomic_torch_save(model_checkpoint(vlt, kind="supernet", text_model="minilm"), paths["supernet"])
    paths["vlt-untrusted"] = folder / "vlt-untrusted.pt"
    atomic_torch_save(model_checkpoint(vlt, kind="vlt", text_model="someone/steered-model"), paths["vlt-untrusted"])
    paths["vlt-local-text"] = folder / "vlt-local-text.pt"
    atomic_torch_save(model_checkpoint(vlt, kind="vlt", text_model="/etc"), paths["vlt-local-text"])
    old = model_checkpoint(siamcar)  # the format before checkpoints said what they are
    for key in ("format", "format_version", "kind", "architecture"):
        old.pop(key)
    paths["siamcar-old-format"] = folder / "old.pt"
    atomic_torch_save(old, paths["siamcar-old-format"])
    paths["text"] = folder / "notes.txt"
    paths["text"].write_text("these are my notes, not a checkpoint\n")
    paths["empty"] = folder / "empty.pt"
    paths["empty"].write_bytes(b"")
    data = paths["siamcar"].read_bytes()
    paths["truncated"] = folder / "truncated.pt"
    paths["truncated"].write_bytes(data[: len(data) // 2])

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo owned > /dev/null",))

    paths["pickle"] = folder / "pickle.pt"
    torch.save({"model": Payload()}, paths["pickle"])
    paths["folder"] = folder / "run"
    paths["folder"].mkdir()
    return paths


@pytest.fixture
def video(tmp_path) -> Path:
    write_frames(tmp_path / "video" / "img")
    return tmp_path / "video"


def track(video, checkpoint, out, *extra, box="40,30,20,20"):
    return ["track", "--video", video, "--box", box, "--checkpoint", checkpoint, "--out", out, "--device", "cpu",
            "--no-progress", *extra]


def run(tracker, root, out, *extra):
    return ["run", "--tracker", tracker, "--dataset", "lasot", "--root", root, "--out", out, "--no-progress", *extra]


# ------------------------------------------------------------------------- 1. stale or mixed results (run)
def test_another_tracker_into_the_same_folder_is_refused_and_keeps_the_old_results(tmp_path, capsys):
    root = lasot_dataset(tmp_path / "lasot")
    succeeds(capsys, run("static", root, tmp_path / "out"))
    before = listing(tmp_path / "out")
    fails(capsys, run("mil", root, tmp_path / "out"), str(tmp_path / "out"), "another tracker", "tracker: ",
          "--overwrite")
    assert listing(tmp_path / "out") == before
    succeeds(capsys, run("mil", root, tmp_path / "out", "--overwrite"))
    assert json.loads((tmp_path / "out" / "tracker.json").read_text())["tracker"] == "mil"


def test_another_checkpoint_into_the_same_folder_is_refused(tmp_path, capsys, checkpoints):
    root = lasot_dataset(tmp_path / "lasot")
    base = run("siamcar", root, tmp_path / "out", "--device", "cpu", "--checkpoint")
    succeeds(capsys, [*base, checkpoints["siamcar"]])
    assert "1 already done" in succeeds(capsys, [*base, checkpoints["siamcar"]])  # the same checkpoint resumes
    fails(capsys, [*base, checkpoints["siamcar-other"]], "weights_sha256", "--overwrite")
    out = succeeds(capsys, [*base, checkpoints["siamcar-other"], "--overwrite"])
    assert "0 already done" in out
    record = json.loads((tmp_path / "out" / "tracker.json").read_text())
    assert record["checkpoint"]["path"] == str(checkpoints["siamcar-other"].resolve())


def test_other_tracker_settings_are_refused(tmp_path, capsys, checkpoints):
    root = lasot_dataset(tmp_path / "lasot")
    base = run("siamcar", root, tmp_path / "out", "--device", "cpu", "--checkpoint", checkpoints["siamcar"])
    succeeds(capsys, base)
    fails(capsys, [*base, "tracker.penalty_k=0.2"], "hyper_parameters.penalty_k: 0.04 -> 0.2")
    fails(capsys, [*base, "--preset", "otb"], "preset")


def test_bad_workers_fail_before_any_work(tmp_path, capsys):
    root = lasot_dataset(tmp_path / "lasot")
    fails(capsys, run("static", root, tmp_path / "out", "--workers", "0"), "--workers 0", "whole number >= 1")
    assert not (tmp_path / "out").exists()
    assert "frames/s overall with 2 workers" in succeeds(capsys, run("static", root, tmp_path / "out", "--workers", "2"))


def test_truncated_results_file_is_tracked_again(tmp_path, capsys):
    root = lasot_dataset(tmp_path / "lasot")
    succeeds(capsys, run("static", root, tmp_path / "out"))
    results = tmp_path / "out" / "cube-1.txt"
    complete = results.read_text()
    results.write_text(complete[: len(complete) // 2])  # cut in the middle of a line
    assert "0 already done" in succeeds(capsys, run("static", root, tmp_path / "out"))
    assert results.read_text() == complete
    (tmp_path / "out" / "cube-1_time.txt").write_text("0.1\nnot-a-number\n")  # a bad times file: tracked again
    assert "0 already done" in succeeds(capsys, run("static", root, tmp_path / "out"))


def test_results_without_a_record_are_not_taken_as_done(tmp_path, capsys):
    root = lasot_dataset(tmp_path / "lasot")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "cube-1.txt").write_text("1,1,1,1\n" * 4)
    (tmp_path / "out" / "cube-1_time.txt").write_text("0.1\n" * 4)
    fails(capsys, run("static", root, tmp_path / "out"), "cube-1.txt", "no tracker.json", "--overwrite")
    succeeds(capsys, run("static", root, tmp_path / "out", "--overwrite"))
    assert (tmp_path / "out" / "cube-1.txt").read_text().startswith("40.0000,30.0000,20.0000,20.0000")


def test_two_trackers_writing_into_one_folder_at_once(tmp_path, capsys):
    import fcntl

    root = lasot_dataset(tmp_path / "lasot")
    (tmp_path / "out").mkdir()
    with (tmp_path / "out" / ".tracker.lock").open("a") as handle:  # another run holds the folder
        fcntl.flock(handle, fcntl.LOCK_EX)
        fails(capsys, run("static", root, tmp_path / "out"), "another tracker is writing into", "--out")
    assert not list((tmp_path / "out").glob("*.txt"))


def test_evaluate_refuses_results_tracked_on_another_dataset(tmp_path, capsys):
    root = lasot_dataset(tmp_path / "lasot")
    succeeds(capsys, run("static", root, tmp_path / "static"))
    record = json.loads((tmp_path / "static" / "tracker.json").read_text())
    (tmp_path / "static" / "tracker.json").write_text(json.dumps({**record, "dataset": "otb"}))
    fails(capsys, ["evaluate", "--dataset", "lasot", "--root", root, "--results", tmp_path / "static"],
          "tracked on 'otb'", "tracker.json")


def test_evaluate_names_a_truncated_results_file(tmp_path, capsys):
    root = lasot_dataset(tmp_path / "lasot")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "cube-1.txt").write_text("40,30,20,20\n42,30,20,20\n")
    fails(capsys, ["evaluate", "--dataset", "lasot", "--root", root, "--results", tmp_path / "results"],
          str(tmp_path / "results" / "cube-1.txt"), "2 boxes", "4 frames")


# ------------------------------------------------------------------------------- 2. operating-system errors
def test_output_path_that_is_a_file(tmp_path, capsys, video, checkpoints):
    (tmp_path / "taken").write_text("mine")
    fails(capsys, track(video, checkpoints["siamcar"], tmp_path / "taken"), "is a file, not a folder")
    root = lasot_dataset(tmp_path / "lasot")
    fails(capsys, run("static", root, tmp_path / "taken"), "is a file, not a folder")
    fails(capsys, ["data", "mini-lasot", "--out", tmp_path / "taken", "--profile", "tiny", "--no-progress"],
          "not a folder")
    assert (tmp_path / "taken").read_text() == "mine"


def test_unwritable_output_is_found_before_tracking(tmp_path, capsys, video, checkpoints, monkeypatch):
    import vlt_mini.io

    calls = []
    monkeypatch.setattr(vlt_mini.io.os, "access", lambda path, mode: False)  # as a read-only folder (tests run as root)
    monkeypatch.setattr("vlt_mini.tracking.video.read_frames", lambda source: calls.append(source))
    fails(capsys, track(video, checkpoints["siamcar"], tmp_path / "out"), "no permission to write", "--out")
    assert calls == [] and not (tmp_path / "out").exists()  # nothing was tracked
    root = lasot_dataset(tmp_path / "lasot")
    fails(capsys, run("static", root, tmp_path / "results"), "no permission to write")


def test_permission_denied_from_the_system(tmp_path, capsys, monkeypatch):
    def denied(path, data):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr("vlt_mini.io._atomic_write_bytes", denied)
    root = lasot_dataset(tmp_path / "lasot")
    fails(capsys, run("static", root, tmp_path / "out"), "permission denied", "tracker.json")


def test_full_disk(tmp_path, capsys, monkeypatch):
    import vlt_mini.io

    real = vlt_mini.io._atomic_write_bytes

    def full(path, data):
        if Path(path).name.endswith(".txt"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr("vlt_mini.io._atomic_write_bytes", full)
    root = lasot_dataset(tmp_path / "lasot")
    fails(capsys, run("static", root, tmp_path / "out"), "no space left", "cube-1_time.txt", "run the same command")
    assert not list((tmp_path / "out").glob("*.txt")) and not list((tmp_path / "out").glob("*.tmp"))
    monkeypatch.undo()
    assert "0 already done" in succeeds(capsys, run("static", root, tmp_path / "out"))  # resumes once there is space


def test_interrupt_is_one_line(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("vlt_mini.tracking.runner.track_sequence", interrupted)
    root = lasot_dataset(tmp_path / "lasot")
    status = main(["run", "--tracker", "static", "--dataset", "lasot", "--root", str(root), "--out",
                   str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 130 and "interrupted" in err and "Traceback" not in err


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(FileNotFoundError):
        main(["--debug", "evaluate", "--dataset", "lasot", "--root", str(tmp_path / "none"), "--results",
              str(tmp_path)])
    with pytest.raises(FileNotFoundError):
        main(["evaluate", "--dataset", "lasot", "--root", str(tmp_path / "none"), "--results", str(tmp_path),
              "--debug"])


def test_evaluate_outputs_are_checked_before_work(tmp_path, capsys):
    root = lasot_dataset(tmp_path / "lasot")
    fails(capsys, ["evaluate", "--dataset", "lasot", "--root", root, "--results", tmp_path / "none", "--json",
                   tmp_path], "is a folder")
    fails(capsys, ["evaluate", "--dataset", "lasot", "--root", root, "--results", tmp_path / "none"],
          "results folder not found")


def test_cuda_asked_for_without_cuda(tmp_path, capsys, video, checkpoints):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    fails(capsys, [*track(video, checkpoints["siamcar"], tmp_path / "out"), "--device", "cuda"],
          "CUDA is not available", "--device cpu")


# ------------------------------------------------------------------------------------------ 3. bad frames
def test_frame_of_another_size_mid_video(tmp_path, capsys, video, checkpoints):
    write_frames(tmp_path / "small", 1, size=(64, 80))
    shutil.copy(tmp_path / "small" / "00000001.jpg", video / "img" / "00000003.jpg")
    fails(capsys, track(video, checkpoints["siamcar"], tmp_path / "out"), "00000003.jpg", "80x64", "128x96",
          "same size")
    assert not (tmp_path / "out").exists()


def test_frame_of_another_size_in_a_dataset(tmp_path, capsys):
    root = lasot_dataset(tmp_path / "lasot")
    write_frames(tmp_path / "small", 1, size=(64, 80))
    shutil.copy(tmp_path / "small" / "00000001.jpg", root / "cube" / "cube-1" / "img" / "00000002.jpg")
    fails(capsys, run("static", root, tmp_path / "out"), "00000002.jpg", "frame 2 of sequence cube-1", "same size")
    assert not list((tmp_path / "out").glob("*.txt"))


def test_jpeg_cut_in_half(tmp_path, capsys, video, checkpoints):
    frame = video / "img" / "00000002.jpg"
    data = frame.read_bytes()
    frame.write_bytes(data[: len(data) // 2])
    fails(capsys, track(video, checkpoints["siamcar"], tmp_path / "out"), str(frame), "truncated")
    root = lasot_dataset(tmp_path / "lasot")
    frame = root / "cube" / "cube-1" / "img" / "00000003.jpg"
    frame.write_bytes(frame.read_bytes()[:300])
    fails(capsys, run("static", root, tmp_path / "results"), str(frame), "truncated")


def test_empty_and_garbage_frames(tmp_path, capsys, video, checkpoints):
    (video / "img" / "00000002.jpg").write_bytes(b"")
    fails(capsys, track(video, checkpoints["siamcar"], tmp_path / "out"), "00000002.jpg", "empty")
    (video / "img" / "00000002.jpg").write_bytes(b"\xff\xd8 not really a jpeg \xff\xd9")
    fails(capsys, track(video, checkpoints["siamcar"], tmp_path / "out"), "00000002.jpg", "cannot read frame")


@pytest.mark.parametrize("channels, suffix", [(1, ".jpg"), (4, ".png"), (1, ".png")])
def test_grayscale_and_alpha_frames_are_tracked(tmp_path, capsys, checkpoints, channels, suffix):
    from vlt_mini.data.frames import read_frame

    paths = write_frames(tmp_path / "video", channels=channels, suffix=suffix)
    assert cv2.imread(str(paths[0]), cv2.IMREAD_UNCHANGED).ndim == (2 if channels == 1 else 3)
    assert read_frame(paths[0]).shape == (96, 128, 3)
    succeeds(capsys, track(tmp_path / "video", checkpoints["siamcar"], tmp_path / "out"))
    assert len((tmp_path / "out" / "boxes.txt").read_text().splitlines()) == 4


@pytest.mark.parametrize("name, fourcc", [("clip.avi", "MJPG"), ("clip.mp4", "mp4v")])
def test_video_files_of_other_containers(tmp_path, capsys, checkpoints, name, fourcc):
    writer = cv2.VideoWriter(str(tmp_path / name), cv2.VideoWriter_fourcc(*fourcc), 10, (128, 96))
    if not writer.isOpened():
        pytest.skip(f"this OpenCV cannot write {fourcc}")
    for frame in write_frames(tmp_path / "frames", 5):
        writer.write(cv2.imread(str(frame)))
    writer.release()
    succeeds(capsys, track(tmp_path / name, checkpoints["siamcar"], tmp_path / "out"))
    assert len((tmp_path / "out" / "boxes.txt").read_text().splitlines()) == 5


def test_a_file_that_is_not_a_video(tmp_path, capsys, checkpoints):
    (tmp_path / "clip.mp4").write_text("not a video")
    err = fails(capsys, track(tmp_path / "clip.mp4", checkpoints["siamcar"], tmp_path / "out"), "clip.mp4")
    assert "cannot open video" in err or "no frames could be decoded" in err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------- 4. checkpoints
def test_supernet_checkpoint_is_not_a_tracker(tmp_path, capsys, video, checkpoints):
    fails(capsys, track(video, checkpoints["supernet"], tmp_path / "out"), "supernet.pt", "--model supernet",
          "tracking needs a vlt or siamcar checkpoint")
    root = lasot_dataset(tmp_path / "lasot")
    fails(capsys, run("vlt", root, tmp_path / "results", "--checkpoint", checkpoints["supernet"]), "--model supernet")
    assert not (tmp_path / "out").exists() and not (tmp_path / "results").exists()


def test_tracker_checkpoint_is_not_a_supernet(tmp_path, capsys, checkpoints, tiny_mini_lasot):
    fails(capsys, ["search", "--supernet", checkpoints["siamcar"], "--dataset", "mini-lasot", "--root",
                   tiny_mini_lasot, "--profile", "tiny", "--out", tmp_path / "search", "--device", "cpu",
                   "--no-progress"], "siamcar.pt", "--model siamcar", "the search needs a supernet checkpoint")


@pytest.mark.parametrize("kind, message", [
    ("text", "is not a PyTorch checkpoint"),
    ("empty", "is empty"),
    ("truncated", "truncated or corrupt"),
    ("pickle", "refused to load"),
    ("folder", "is a folder"),
])
def test_files_that_are_not_checkpoints(tmp_path, capsys, video, checkpoints, kind, message):
    fails(capsys, track(video, checkpoints[kind], tmp_path / "out"), str(checkpoints[kind]), message)
    assert not (tmp_path / "out").exists()


def test_checkpoint_does_not_choose_the_text_model(tmp_path, capsys, video, checkpoints, monkeypatch):
    import vlt_mini.models.text_encoder as text_encoder

    def no_download(name):
        raise AssertionError(f"the hub was asked for {name}")

    monkeypatch.setattr(text_encoder, "_download_from_hub", no_download)
    fails(capsys, track(video, checkpoints["vlt-untrusted"], tmp_path / "out"), "someone/steered-model",
          "not a known one", "--text-model someone/steered-model")
    fails(capsys, track(video, checkpoints["vlt-local-text"], tmp_path / "out"), "'/etc'", "--text-model /etc")
    # the user's own choice is used: here a folder that is not a model, reported as such
    fails(capsys, track(video, checkpoints["vlt-local-text"], tmp_path / "out", "--text-model", tmp_path),
          "has no config.json", "--text-model")


def test_checkpoints_of_the_old_format_still_load(tmp_path, capsys, video, checkpoints):
    from vlt_mini.models.kinds import checkpoint_kind
    from vlt_mini.models.vlt import load_vlt_checkpoint

    model, data = load_vlt_checkpoint(checkpoints["siamcar-old-format"], kinds=("vlt", "siamcar"))
    assert "kind" not in data and checkpoint_kind(data) == "siamcar" and not model.config.use_modamixer
    succeeds(capsys, track(video, checkpoints["siamcar-old-format"], tmp_path / "out"))


def test_new_checkpoints_say_what_they_are(checkpoints):
    from vlt_mini.io import load_checkpoint

    data = load_checkpoint(checkpoints["supernet"])
    assert data["format"] == "vlt-mini model" and data["kind"] == "supernet" and data["text_model"] == "minilm"
    assert data["architecture"]["backbone"] == "SPOS supernet + ModaMixer" and data["architecture"]["language_dim"]


# --------------------------------------------------------------------------------------- 5. weak messages
def test_negative_box_values_parse(tmp_path, capsys, video, checkpoints):
    succeeds(capsys, track(video, checkpoints["siamcar"], tmp_path / "out", box="-5,-5,17,50"))
    assert np.allclose(np.loadtxt(tmp_path / "out" / "boxes.txt", delimiter=",")[0], [-5, -5, 17, 50])


@pytest.mark.parametrize("box, message", [
    ("a,b,c,d", "four numbers"),
    ("1,2,3", "got 3"),
    ("nan,2,3,4", "finite"),
    ("-50,-50,10,10", "outside"),
    ("10,10,-4,10", "zero or negative size"),
])
def test_bad_boxes(tmp_path, capsys, video, checkpoints, box, message):
    fails(capsys, track(video, checkpoints["siamcar"], tmp_path / "out", box=box), "--box", message)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("override, message", [
    ("tracker.bogus=1", "unknown key 'bogus'"),
    ("tracker.penalty_k=abc", "expected float"),
    ("tracker.window_influence=2", "tracker.window_influence must be in [0, 1]"),
    ("train.epochs=2", "only tracker hyper-parameters"),
    ("tracker.lr", "expected key=value"),
])
def test_bad_tracker_overrides(tmp_path, capsys, video, checkpoints, override, message):
    fails(capsys, track(video, checkpoints["siamcar"], tmp_path / "out", override), message)
    root = lasot_dataset(tmp_path / "lasot")
    fails(capsys, run("siamcar", root, tmp_path / "results", "--checkpoint", checkpoints["siamcar"], override),
          message)
    assert not (tmp_path / "out").exists() and not (tmp_path / "results").exists()


def test_tracker_overrides_are_used(tmp_path, capsys, checkpoints):
    root = lasot_dataset(tmp_path / "lasot")
    succeeds(capsys, run("siamcar", root, tmp_path / "out", "--checkpoint", checkpoints["siamcar"], "--device", "cpu",
                         "tracker.window_influence=0.5", "tracker.lr=0.1"))
    hyper = json.loads((tmp_path / "out" / "tracker.json").read_text())["hyper_parameters"]
    assert hyper["window_influence"] == 0.5 and hyper["lr"] == 0.1 and hyper["penalty_k"] == 0.04


def test_options_of_the_learned_trackers_refused_for_baselines(tmp_path, capsys, checkpoints):
    root = lasot_dataset(tmp_path / "lasot")
    fails(capsys, run("static", root, tmp_path / "out", "--checkpoint", checkpoints["siamcar"]), "--checkpoint",
          "'static'")
    fails(capsys, run("mil", root, tmp_path / "out", "tracker.lr=0.1"), "tracker.KEY=VALUE", "'mil'")


def test_bad_first_ground_truth_box_names_sequence_and_file(tmp_path, capsys):
    root = lasot_dataset(tmp_path / "lasot", first_box="40,30,0,20")
    fails(capsys, run("static", root, tmp_path / "out"), "sequence cube-1", "line 1 of",
          str(root / "cube" / "cube-1" / "groundtruth.txt"), "zero or negative size")
    assert not (tmp_path / "out").exists()


def test_zero_frame_sequence(tmp_path, capsys):
    root = lasot_dataset(tmp_path / "lasot")
    folder = root / "cube" / "cube-1"
    shutil.rmtree(folder / "img")
    (folder / "img").mkdir()
    for name in ("groundtruth.txt", "full_occlusion.txt", "out_of_view.txt"):
        (folder / name).write_text("")
    err = fails(capsys, run("static", root, tmp_path / "out"), "sequence cube-1 has no frames and no ground truth",
                str(folder / "groundtruth.txt"))
    assert "annotation" not in err and not (tmp_path / "out").exists()


def test_unknown_sequence(tmp_path, capsys):
    root = lasot_dataset(tmp_path / "lasot")
    fails(capsys, run("static", root, tmp_path / "out", "--sequences", "cube-9"), "cube-9")


def test_annotations_without_frames(tmp_path, capsys, shared_dir):
    fails(capsys, ["run", "--tracker", "static", "--dataset", "lasot", "--root", shared_dir / "data" /
                   "lasot_test_annos", "--out", tmp_path / "out", "--sequences", "airplane-1", "--no-progress"],
          "sequence airplane-1 has annotations but no frames", "img/")


def test_unfinished_generation_says_how_to_finish_it(tmp_path, capsys, tiny_mini_lasot):
    root = tmp_path / "mini"
    shutil.copytree(tiny_mini_lasot, root)
    for name in ("testing_set.txt", "training_set.txt", "validation_set.txt"):
        (root / name).unlink()
    fails(capsys, ["data", "info", "--dataset", "mini-lasot", "--root", root], "unfinished mini-LaSOT generation",
          f"vlt-mini data mini-lasot --out {root} --profile tiny --seed 0")


def test_resume_with_other_settings_names_the_setting(tmp_path, capsys, tiny_mini_lasot):
    base = ["train", "--model", "siamcar", "--dataset", "mini-lasot", "--root", tiny_mini_lasot, "--profile", "tiny",
            "--out", tmp_path / "run", "--device", "cpu", "--no-progress", "--stop-after", "1"]
    overrides = ["pairs.samples_per_epoch=8", "train.batch_size=4"]
    succeeds(capsys, [*base, *overrides])
    fails(capsys, [*base, "--resume", *overrides, "train.base_lr=0.5"], "train.base_lr:", "-> 0.5", "another --out")


def test_bad_arguments_of_data(tmp_path, capsys):
    fails(capsys, ["data", "mini-lasot", "--out", tmp_path / "m", "--seed", "-1", "--no-progress"], "--seed")
    assert not (tmp_path / "m").exists()
    with pytest.raises(SystemExit) as exit_info:  # argparse's own check of a choice
        main(["data", "mini-lasot", "--out", str(tmp_path / "m"), "--profile", "huge"])
    assert exit_info.value.code == 2 and "invalid choice: 'huge'" in capsys.readouterr().err


# ------------------------------------------------------------------- 6. generation never deletes user files
def test_generation_keeps_files_it_did_not_write(tmp_path, capsys, tiny_mini_lasot):
    root = tmp_path / "mini"
    shutil.copytree(tiny_mini_lasot, root)
    name = (root / "testing_set.txt").read_text().split()[0]
    folder = root / name.rsplit("-", 1)[0] / name
    original = listing(folder)
    (root / "meta" / f"{name}.json").unlink()  # the meta file is lost
    (folder / "my_notes.txt").write_text("mine")
    (folder / "img" / "my_crop.png").write_bytes(b"mine")
    arguments = ["data", "mini-lasot", "--out", root, "--profile", "tiny", "--seed", "0", "--no-progress"]
    fails(capsys, arguments, str(folder), "my_notes.txt", "did not write", "move them")
    assert (folder / "my_notes.txt").read_text() == "mine" and (folder / "img" / "my_crop.png").read_bytes() == b"mine"
    (folder / "my_notes.txt").unlink()
    (folder / "img" / "my_crop.png").unlink()
    succeeds(capsys, arguments)  # then the video is regenerated, byte for byte
    assert listing(folder) == original and (root / "meta" / f"{name}.json").is_file()


# ------------------------------------------------------------------------- the library's rule (train_model)
def test_train_model_refuses_a_folder_of_another_training(tmp_path, tiny_mini_lasot):
    from vlt_mini.training import train_model

    overrides = ["pairs.samples_per_epoch=8", "train.batch_size=4", "train.epochs=1"]
    final = train_model("siamcar", tiny_mini_lasot, tmp_path / "run", "tiny", 0, overrides=overrides, device="cpu",
                        progress=False)
    assert train_model("siamcar", tiny_mini_lasot, tmp_path / "run", "tiny", 0, overrides=overrides, device="cpu",
                       progress=False) == final  # the same training is reused
    with pytest.raises(ValueError, match=r"holds another training \(.*train.seed: 0 -> 1"):
        train_model("siamcar", tiny_mini_lasot, tmp_path / "run", "tiny", 1, overrides=overrides, device="cpu",
                    progress=False)
    with pytest.raises(ValueError, match=r"kind: \"siamcar\" -> \"vlt\""):
        train_model("vlt", tiny_mini_lasot, tmp_path / "run", "tiny", 0, overrides=overrides, device="cpu",
                    progress=False)


# --------------------------------------------------------------------------------- a light command line
def _imports_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint('imported:', *(m for m in ('torch', 'transformers') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, timeout=120)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.splitlines()[-1].split()[1:])


def test_parser_help_and_evaluate_do_not_import_torch(tmp_path):
    assert _imports_after("from vlt_mini.cli import build_parser; build_parser()") == set()
    assert _imports_after("from vlt_mini.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass") \
        == set()
    root = lasot_dataset(tmp_path / "lasot")
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "cube-1.txt").write_text("40,30,20,20\n" * 4)
    assert _imports_after(f"from vlt_mini.cli import main\nassert main(['evaluate', '--dataset', 'lasot', '--root', "
                          f"{str(root)!r}, '--results', {str(tmp_path / 'static')!r}]) == 0") == set()


def test_one_default_profile_and_device_across_commands():
    from vlt_mini.cli import COMMANDS, build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, type(parser._subparsers._group_actions[0])))
    for name, sub in subparsers.choices.items():
        defaults = {action.dest: action.default for action in sub._actions}
        nested = [a for a in sub._actions if a.dest == "data_command"]
        if nested:  # data mini-lasot
            defaults = {action.dest: action.default for action in nested[0].choices["mini-lasot"]._actions}
        assert defaults.get("profile", "cpu") == "cpu", name
        assert defaults.get("device", "auto") == "auto", name
    assert set(COMMANDS) == set(subparsers.choices)


def test_no_progress_silences_the_text_models_loading_bar():
    script = ("from vlt_mini.arguments import quiet_libraries; quiet_libraries()\n"
              "from transformers.utils import logging\nassert not logging.is_progress_bar_enabled()\n"
              "import huggingface_hub.utils as hub\nassert hub.are_progress_bars_disabled()")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT,
                            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, timeout=120)
    assert result.returncode == 0, result.stderr
