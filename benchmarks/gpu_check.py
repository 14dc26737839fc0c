"""GPU check: the figures a CUDA machine should give, in one run of a few minutes, installing nothing.

1. training throughput at the ``paper`` profile (VLT_SCAR, 127 / 255 crops, batch 64, float16 autocast, channels-last):
   pairs/s as the median of timed windows on batches already in memory, and the peak GPU memory;
2. tracking frames/s at batch 1 of the ``paper`` VLT_SCAR and of the vision-only SiamCAR network, fast path and
   reference path interleaved (decode + crop + network + maps per frame; the paper reports 43 frames/s for VLT_SCAR
   and 52 for SiamCAR on an RTX-2080Ti);
3. whether the fast tracking path matches the reference path on this device (frame by frame: box IoU, map
   difference, peak; ``vlt_mini/tracking/agreement.py``).

Networks are untrained (speed does not depend on the weights) and the sentences are stood in for by fixed
pseudo-random embeddings (the text model need not be on the machine); the videos are a freshly generated mini-LaSOT
(``tiny`` data: seconds to make). ``--device cpu --quick`` runs the same code at the ``tiny`` profile in seconds (the
test suite does, so the script stays runnable where no GPU is).

    python benchmarks/gpu_check.py                      # on a CUDA machine: paper profile, about 3-5 minutes
    python benchmarks/gpu_check.py --device cpu --quick
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

PAPER_FPS = {"VLT_SCAR": 43.0, "SiamCAR": 52.0}  # paper §4, RTX-2080Ti


class StandInSentences:
    """A text encoder with the ``TextEncoder`` interface giving a fixed pseudo-random embedding per sentence."""

    dim = 384

    def encode(self, sentences):
        from vlt_mini.models.text_encoder import TextEncoding

        vectors = []
        for sentence in sentences:
            seed = int.from_bytes(hashlib.sha256((sentence or "").encode()).digest()[:4], "little")
            vectors.append(torch.from_numpy(np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)))
        return TextEncoding(torch.stack(vectors), torch.tensor([bool(s) for s in sentences]))


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def training_check(profile: str, root: Path, device: torch.device, batch: int, windows: int, per_window: int) -> None:
    from vlt_mini.data import open_dataset
    from vlt_mini.training import PairSource, Trainer, TrainingSetup, make_pair_loader

    setup = TrainingSetup.for_profile(profile)
    train = dataclasses.replace(setup.train, batch_size=batch, amp=True, channels_last=True, num_workers=0)
    pairs = dataclasses.replace(setup.pairs, samples_per_epoch=max(setup.pairs.samples_per_epoch, 4 * batch))
    trainer = Trainer("vlt", setup.model, train, pairs, [PairSource(open_dataset("mini-lasot", root, "train"))],
                      Path(tempfile.mkdtemp(prefix="gpu-check-train-")), device=str(device), progress=False,
                      text_encoder=StandInSentences())
    batches = list(make_pair_loader(trainer.dataset, batch, 2))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    rates = []
    for window in range(windows + 1):  # window 0 warms up (cuDNN autotuning, allocator)
        synchronize(device)
        start = time.perf_counter()
        for i in range(per_window):
            trainer.train_step(batches[i % len(batches)], trainer.iterations_per_epoch)
        synchronize(device)
        if window:
            rates.append(batch * per_window / (time.perf_counter() - start))
    memory = (f"{torch.cuda.max_memory_allocated(device) / 2 ** 30:.2f} GiB peak allocated"
              if device.type == "cuda" else "peak memory: CUDA only")
    print(f"training, {profile} VLT_SCAR, batch {batch}, AMP {trainer.use_amp}, channels-last {trainer.channels_last}: "
          f"{statistics.median(rates):.1f} pairs/s (median of {windows} windows of {per_window} iterations); {memory}",
          flush=True)


def tracking_check(profile: str, sequences, device: torch.device, runs: int) -> None:
    from vlt_mini.models import VLTConfig, VLTNet
    from vlt_mini.tracking.agreement import step_agreement
    from vlt_mini.tracking.tracker import VLTTracker

    encoder = StandInSentences()
    for name, modamixer in (("VLT_SCAR", True), ("SiamCAR", False)):
        torch.manual_seed(0)
        net = VLTNet(VLTConfig.for_profile(profile, use_modamixer=modamixer)).eval().to(device)
        text = encoder if modamixer else None
        folded = VLTTracker.fold(net)
        makers = {"fast": lambda: VLTTracker(net, text, "mini-lasot", device=device, folded=folded),
                  "reference": lambda: VLTTracker(net, text, "mini-lasot", device=device, fast=False)}
        fps: dict[str, list[float]] = {key: [] for key in makers}
        for run in range(runs + 1):  # run 0 warms up
            per_video: dict[str, list[float]] = {key: [] for key in makers}
            for sequence in sequences:
                for key, make in makers.items():
                    tracker = make()
                    tracker.initialize(sequence.frame(0), sequence.init_box, sequence.sentence)
                    synchronize(device)
                    start = time.perf_counter()
                    for index in range(1, len(sequence)):
                        tracker.track(sequence.frame(index))  # each frame ends on the host (the box), so in sync
                    per_video[key].append((len(sequence) - 1) / (time.perf_counter() - start))
            if run:
                for key in makers:
                    fps[key].append(statistics.median(per_video[key]))
        fast, reference = statistics.median(fps["fast"]), statistics.median(fps["reference"])
        print(f"tracking, {profile} {name}, batch 1: fast {fast:.1f} frames/s, reference {reference:.1f} frames/s, "
              f"fast/reference {fast / reference:.2f}x (paper, RTX-2080Ti: {PAPER_FPS[name]:.0f})", flush=True)
        results = [step_agreement(makers["fast"](), sequence) for sequence in sequences]
        lowest = min(float(r["iou"].min()) for r in results)
        difference = max(r["max_map_difference"] for r in results)
        same_peak = float(np.mean([r["same_peak"] for r in results]))
        verdict = "MATCHES" if lowest >= 0.99 and difference < 1e-3 else "DOES NOT MATCH"
        print(f"  fast vs reference on {device.type}, frame by frame: min box IoU {lowest:.5f}, largest map "
              f"difference {difference:.2e}, same peak on {100 * same_peak:.1f}% of frames: {verdict}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--quick", action="store_true", help="tiny profile, a few iterations and frames (tests)")
    parser.add_argument("--videos", type=int, default=4, help="mini-LaSOT test videos to track")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu_check: no CUDA device here; run with --device cpu --quick to exercise the code")
    from vlt_mini.data import open_dataset
    from vlt_mini.data.mini_lasot import generate_mini_lasot
    from vlt_mini.search.evolution import truncate

    started = time.perf_counter()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"gpu_check on {name}, torch {torch.__version__}, {'quick (tiny)' if args.quick else 'paper'} profile",
          flush=True)
    root = generate_mini_lasot(Path(tempfile.mkdtemp(prefix="gpu-check-data-")), "tiny", 0, progress=False)
    profile = "tiny" if args.quick else "paper"
    if args.quick:
        training_check(profile, root, device, batch=4, windows=2, per_window=1)
    else:
        training_check(profile, root, device, batch=64, windows=5, per_window=5)
    videos = list(open_dataset("mini-lasot", root, "test"))[: (1 if args.quick else args.videos)]
    if args.quick:
        videos = [truncate(video, 6) for video in videos]
    tracking_check(profile, videos, device, runs=1 if args.quick else 3)
    print(f"gpu_check done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
