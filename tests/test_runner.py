"""The tracker runner and the baselines, on a small video written here (no dataset generator needed)."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from vlt_mini.data.sequence import Sequence
from vlt_mini.data.textio import read_boxes
from vlt_mini.tracking.runner import run_tracker, summarize_speed
from vlt_mini.tracking import TRACKERS, make_tracker, tracker_factory
from vlt_mini.tracking.base import Tracker, check_init_box
from vlt_mini.tracking.baselines import OpenCVMILTracker, StaticBoxTracker


def moving_square_video(folder: Path, name: str = "square-1", frames: int = 12, step: int = 3) -> Sequence:
    """A textured square moving right on a noisy background; ground truth known exactly."""
    rng = np.random.default_rng(0)
    background = rng.integers(0, 80, size=(96, 128, 3), dtype=np.uint8)
    patch = rng.integers(120, 255, size=(20, 20, 3), dtype=np.uint8)
    boxes, paths = [], []
    (folder / "img").mkdir(parents=True, exist_ok=True)
    for index in range(frames):
        image = background.copy()
        x, y = 20 + step * index, 30
        image[y:y + 20, x:x + 20] = patch
        path = folder / "img" / f"{index + 1:08d}.jpg"
        cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        paths.append(path)
        boxes.append((x, y, 20, 20))
    return Sequence(name, paths, np.array(boxes, float), np.ones(frames, bool), "a bright square", dataset="test")


def test_static_tracker_writes_toolkit_files(tmp_path):
    sequence = moving_square_video(tmp_path / "video")
    runs = run_tracker(StaticBoxTracker, [sequence], tmp_path / "static", progress=False)
    boxes = read_boxes(tmp_path / "static" / "square-1.txt")
    assert boxes.shape == (12, 4)
    np.testing.assert_allclose(boxes, np.tile(sequence.init_box, (12, 1)))
    times = np.loadtxt(tmp_path / "static" / "square-1_time.txt")
    assert times.shape == (12,) and np.all(times >= 0)
    assert runs[0].boxes.shape == (12, 4) and not runs[0].skipped
    assert summarize_speed(runs)["frames"] == 11


def _mil_boxes_in_a_fresh_process(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    sequence = moving_square_video(folder / "video", frames=10, step=2)
    return run_tracker(OpenCVMILTracker, [sequence], folder / "mil", progress=False)[0].boxes, sequence.ground_truth


def test_mil_tracker_follows_a_moving_square(tmp_path):
    # In a fresh process: OpenCV's MIL carries random state from one tracker to the next (see its docstring), so in
    # the test process its boxes would depend on which tests tracked with MIL before this one.
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        boxes, ground_truth = pool.submit(_mil_boxes_in_a_fresh_process, tmp_path).result()
    centre_error = np.abs((boxes[:, 0] + boxes[:, 2] / 2) - (ground_truth[:, 0] + 10))
    assert centre_error[-1] < 8, f"MIL lost the square: centre errors {centre_error}"
    static_error = abs(ground_truth[0, 0] - ground_truth[-1, 0])
    assert centre_error[-1] < static_error


def test_runner_resumes_and_skips_finished_sequences(tmp_path):
    first = moving_square_video(tmp_path / "a", "square-1")
    second = moving_square_video(tmp_path / "b", "square-2")
    calls = []

    class CountingTracker(StaticBoxTracker):
        def initialize(self, frame, box, sentence=None):
            calls.append(sentence)
            super().initialize(frame, box, sentence)

    run_tracker(CountingTracker, [first], tmp_path / "out", progress=False)
    assert len(calls) == 1
    runs = run_tracker(CountingTracker, [first, second], tmp_path / "out", progress=False)
    assert len(calls) == 2, "the finished sequence must not be tracked again"
    assert [r.skipped for r in runs] == [True, False]
    assert calls[-1] == "a bright square"
    run_tracker(CountingTracker, [second], tmp_path / "out2", progress=False, use_language=False)
    assert calls[-1] is None


def test_interrupted_sequence_leaves_no_results_file(tmp_path):
    sequence = moving_square_video(tmp_path / "video")

    class CrashingTracker(StaticBoxTracker):
        def track(self, frame):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run_tracker(CrashingTracker, [sequence], tmp_path / "out", progress=False)
    assert list((tmp_path / "out").glob("*.txt")) == [], "no results file half-written"
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"tracker.json", ".tracker.lock"}  # the folder's record


def test_annotation_only_sequence_cannot_be_tracked(tmp_path):
    sequence = Sequence("x", [], np.ones((3, 4)), np.ones(3, bool))
    with pytest.raises(FileNotFoundError, match="no frames"):
        run_tracker(StaticBoxTracker, [sequence], tmp_path / "out", progress=False)


@pytest.mark.parametrize("box, message", [
    ((10, 10, 0, 5), "zero or negative size"),
    ((500, 10, 5, 5), "outside"),
    ((1, 2, 3), "4 finite numbers"),
    ((1, 2, float("nan"), 3), "4 finite numbers"),
])
def test_bad_initial_box(box, message):
    with pytest.raises(ValueError, match=message):
        check_init_box(box, (96, 128, 3))


def test_registry():
    assert {"static", "mil"} <= set(TRACKERS)
    assert isinstance(make_tracker("static"), Tracker)
    with pytest.raises(ValueError, match="unknown tracker"):
        tracker_factory("nope")
    with pytest.raises(ValueError, match="takes no options"):
        tracker_factory("mil", checkpoint="x.pt")


def test_workers_write_the_same_results_as_one_process(tmp_path):
    """``workers=2`` (forked one-thread processes) gives the files a one-thread process gives, for a network tracker
    whose parent has already run two OpenMP threads and for OpenCV's MIL (both thread pools must survive the fork)."""
    import signal

    import torch

    from vlt_mini.models import VLTConfig, VLTNet
    from vlt_mini.tracking.tracker import VLTTracker

    sequences = [moving_square_video(tmp_path / f"v{k}", f"square-{k}", frames=8 + 2 * k, step=1 + k) for k in range(3)]
    torch.manual_seed(0)
    net = VLTNet(VLTConfig.for_profile("tiny", use_modamixer=False)).eval()
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    VLTTracker(net, None, "mini-lasot").initialize(cv2.imread(str(sequences[0].frame_paths[0])), sequences[0].init_box)
    torch.set_num_threads(1)  # the same thread count as the workers': the same float rounding
    previous = signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("a forked worker hangs")))
    signal.alarm(120)
    try:
        one = run_tracker(lambda: VLTTracker(net, None, "mini-lasot"), sequences, tmp_path / "one", progress=False)
        two = run_tracker(lambda: VLTTracker(net, None, "mini-lasot"), sequences, tmp_path / "two", progress=False,
                          workers=2)
        assert [run.name for run in two] == [s.name for s in sequences]
        for a, b in zip(one, two):
            assert (tmp_path / "one" / f"{a.name}.txt").read_bytes() == (tmp_path / "two" / f"{a.name}.txt").read_bytes()
            np.testing.assert_array_equal(a.boxes, b.boxes)
            assert len(b.frame_times) == len(a.frame_times)
        # OpenCV's MIL is not bit-reproducible from run to run; here it must only run in the workers
        mil = run_tracker(OpenCVMILTracker, sequences, tmp_path / "mil", progress=False, workers=2)
        assert [run.boxes.shape for run in mil] == [(len(s), 4) for s in sequences]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        torch.set_num_threads(threads)


def test_workers_argument_and_errors_in_workers(tmp_path):
    sequences = [moving_square_video(tmp_path / f"v{k}", f"square-{k}") for k in range(2)]
    with pytest.raises(ValueError, match="--workers 0"):
        run_tracker(StaticBoxTracker, sequences, tmp_path / "out", progress=False, workers=0)

    class FailingTracker(StaticBoxTracker):
        def track(self, frame):
            raise RuntimeError("tracker broke")

    with pytest.raises(RuntimeError, match="tracker broke"):
        run_tracker(FailingTracker, sequences, tmp_path / "failing", progress=False, workers=2)
    assert not list((tmp_path / "failing").glob("square-*.txt")), "no partial results"
