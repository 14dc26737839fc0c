"""Generation speed and size of the synthetic mini-LaSOT, per profile.

    python benchmarks/bench_mini_lasot.py                 # tiny (median of --runs runs) and cpu (one full run)
    python benchmarks/bench_mini_lasot.py --paper 12      # + the paper profile, from 12 of its videos, extrapolated

Prints frames/s, videos, frames, the median video length, disk size and, as a baseline measured in the same run, the speed of only encoding
and writing JPEG frames of the same size in one process (the floor any generator pays per process): the ratio
frames/s / (baseline x processes) is the fraction of the time not spent drawing.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from vlt_mini.data.mini_lasot import MiniLaSOTConfig, default_workers, generate_mini_lasot, generate_video, plan_videos


def folder_size(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def count_frames(root: Path) -> int:
    return sum(1 for _ in root.glob("*/*/img/*.jpg"))


def median_length(root: Path) -> float:
    """Median frames per video, from the generator's meta files."""
    import json

    return float(np.median([json.loads(path.read_text())["frames"] for path in root.glob("meta/*.json")]))


def jpeg_baseline(config: MiniLaSOTConfig, frames: int = 200, runs: int = 5) -> float:
    """Frames/s of encoding and writing noisy frames of this size (one process; median of ``runs``)."""
    return statistics.median(_jpeg_once(config, frames) for _ in range(runs))


def _jpeg_once(config: MiniLaSOTConfig, frames: int) -> float:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (config.frame_height, config.frame_width, 3), dtype=np.uint8)
    base = cv2.GaussianBlur(image, (0, 0), 3)
    noise = rng.normal(0, 3, base.shape)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        for index in range(frames):
            image = np.clip(base + noise * (index % 3), 0, 255).astype(np.uint8)
            ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, config.jpeg_quality])
            Path(folder, f"{index:08d}.jpg").write_bytes(data.tobytes())
        return frames / (time.perf_counter() - started)


def bench_full(profile: str, runs: int, workers: int | None) -> dict:
    times, frames, size, median = [], 0, 0, 0.0
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            root = generate_mini_lasot(Path(folder) / "data", profile=profile, seed=0, progress=False, workers=workers)
            times.append(time.perf_counter() - started)
            frames, size, median = count_frames(root), folder_size(root), median_length(root)
    config = MiniLaSOTConfig.for_profile(profile)
    videos = sum(config.split_sizes.values())
    processes = workers or default_workers(videos * (config.min_frames + config.max_frames) // 2)
    return {"profile": profile, "videos": videos, "frames": frames, "median": median,
            "seconds": statistics.median(times),
            "fps": frames / statistics.median(times), "bytes": size, "runs": runs, "extrapolated": False,
            "processes": processes}


def bench_sample(profile: str, videos: int) -> dict:
    """Generate ``videos`` of the profile's videos (spread over classes, one process) and extrapolate to all."""
    config = MiniLaSOTConfig.for_profile(profile)
    plans = plan_videos(config, seed=0)
    sample = plans[:: max(1, len(plans) // videos)][:videos]
    expected_frames = len(plans) * (config.min_frames + config.max_frames) / 2
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        lengths = [generate_video(root, config, 0, plan) for plan in sample]
        frames = sum(lengths)
        seconds = time.perf_counter() - started
        size = folder_size(root)
    return {"profile": profile, "videos": len(plans), "frames": int(expected_frames), "median": np.median(lengths),
            "seconds": seconds / frames * expected_frames,
            "fps": frames / seconds, "bytes": size / frames * expected_frames, "runs": 1, "extrapolated": True,
            "processes": 1,
            "sample": f"{len(sample)} videos, {frames} frames, 1 process"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs of the tiny profile (median reported)")
    parser.add_argument("--skip-cpu", action="store_true", help="do not generate the cpu profile")
    parser.add_argument("--paper", type=int, default=0, metavar="N", help="also time N videos of the paper profile")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: automatic)")
    args = parser.parse_args()
    print(f"cpu cores: {os.cpu_count()}, OpenCV {cv2.__version__}")
    rows = [bench_full("tiny", args.runs, args.workers)]
    if not args.skip_cpu:
        rows.append(bench_full("cpu", 1, args.workers))
    if args.paper:
        rows.append(bench_sample("paper", args.paper))
    print(f"{'profile':8} {'videos':>6} {'frames':>8} {'median':>6} {'procs':>5} {'wall s':>8} {'frames/s':>9} {'disk MB':>8}"
          f" {'KB/frame':>8} {'JPEG-only f/s':>13} {'ratio':>6}")
    for row in rows:
        baseline = jpeg_baseline(MiniLaSOTConfig.for_profile(row["profile"]))
        note = f"  (extrapolated from {row['sample']})" if row["extrapolated"] else f"  (median of {row['runs']})"
        print(f"{row['profile']:8} {row['videos']:6d} {row['frames']:8d} {row['median']:6.0f} {row['processes']:5d}"
              f" {row['seconds']:8.1f} {row['fps']:9.0f}"
              f" {row['bytes'] / 1e6:8.1f} {row['bytes'] / row['frames'] / 1e3:8.1f} {baseline:13.0f}"
              f" {row['fps'] / (baseline * row['processes']):6.2f}{note}")


if __name__ == "__main__":
    main()
