"""Training throughput per profile, and whether the pair loader keeps up with the trainer (issue: at least 2x).

For each profile: the trainer alone (iterations on batches already in memory: forward, loss, backward, SGD step) and
the loader alone (pairs/s with 0 and 2 workers, no training), as medians of several timed windows after a warm-up,
then the ratio loader / trainer. Everything runs on this machine's CPU (or ``--device cuda``).

    python benchmarks/bench_training.py                          # tiny and cpu, data generated into a temp folder
    python benchmarks/bench_training.py --profiles tiny,cpu,paper --root data/mini-lasot-cpu
    python benchmarks/bench_training.py --optimizers --root data/mini-lasot-cpu    # SGD vs AdamW from scratch

``--fast-vs-reference`` times the trainer's fast CPU settings (``train.channels_last_cpu``: channels-last tensors)
against the reference (contiguous NCHW fp32) on the same batches, interleaved window by window in one process, and
trains both for ``--iterations`` iterations from the same seed to compare the loss curves (the data and the
candidates are the same; only float rounding differs).

    python benchmarks/bench_training.py --fast-vs-reference --profiles cpu --root data/mini-lasot-cpu --iterations 60

``--fast-shards 2 --fast-threads 2`` times the fast settings with each batch split into two shards trained at once,
one thread each (``train.cpu_shards``, ``vlt_mini/training/cpu_parallel.py``).

``--fast-threads N`` times the fast settings with N torch threads (e.g. both cores of a laptop) while the reference
keeps the thread count the process started with (``OMP_NUM_THREADS=1``: one thread, as the study's trainings ran).

``--optimizers`` trains the tiny network from scratch for a few hundred iterations with SiamCAR's SGD and with AdamW
(the small profiles' choice) and measures how well each localises on validation pairs: the median distance between
the score-map peak and the target centre, and the share of pairs within one stride.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import torch

from vlt_mini.data import open_dataset
from vlt_mini.data.mini_lasot import generate_mini_lasot
from vlt_mini.training import PairSource, Trainer, TrainingSetup, make_pair_loader

PAPER_BENCH_BATCH = 8  # the paper's batch of 64 does not fit a laptop; a few iterations at batch 8


def timed_windows(step, windows: int, per_window: int, warmup: int) -> list[float]:
    """Seconds per window of ``per_window`` calls of ``step`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(windows):
        start = time.perf_counter()
        for _ in range(per_window):
            step()
        times.append(time.perf_counter() - start)
    return times


def trainer_throughput(trainer: Trainer, batches: list[dict], windows: int, per_window: int) -> float:
    """Median pairs/s of the trainer on batches already loaded (the trainer's consumption rate)."""
    position = [0]

    def step() -> None:
        batch = batches[position[0] % len(batches)]
        trainer.train_step(batch, trainer.iterations_per_epoch)  # past the warm-up: the full learning rate
        position[0] += 1

    times = timed_windows(step, windows, per_window, warmup=2)
    return trainer.config.batch_size * per_window / statistics.median(times)


def loader_throughput(trainer: Trainer, workers: int, windows: int, per_window: int) -> float:
    """Median pairs/s of the pair loader alone with ``workers`` worker processes."""
    total = (windows + 1) * per_window + 2
    iterator = iter(make_pair_loader(trainer.dataset, trainer.config.batch_size, total, num_workers=workers))
    times = timed_windows(lambda: next(iterator), windows, per_window, warmup=per_window + 2)
    del iterator
    return trainer.config.batch_size * per_window / statistics.median(times)


def bench_profile(profile: str, kind: str, root: Path, device: str, windows: int, per_window: int) -> dict:
    setup = TrainingSetup.for_profile(profile)
    train = setup.train if profile != "paper" else dataclasses.replace(setup.train, batch_size=PAPER_BENCH_BATCH)
    samples = max(setup.pairs.samples_per_epoch, 64 * train.batch_size)
    pairs = dataclasses.replace(setup.pairs, samples_per_epoch=samples)
    sources = [PairSource(open_dataset("mini-lasot", root, "train"))]
    out = Path(tempfile.mkdtemp(prefix=f"bench-train-{profile}-"))
    trainer = Trainer(kind, setup.model, train, pairs, sources, out, device=device, progress=False)
    batches = list(make_pair_loader(trainer.dataset, train.batch_size, 4))
    trainer_rate = trainer_throughput(trainer, batches, windows, per_window)
    loader_rates = {w: loader_throughput(trainer, w, windows, max(2, per_window)) for w in (0, 2)}
    return {"profile": profile, "kind": kind, "batch": train.batch_size, "trainer": trainer_rate,
            "loader0": loader_rates[0], "loader2": loader_rates[2],
            "seconds_per_iteration": train.batch_size / trainer_rate,
            "profile_iterations": (setup.train.epochs * (setup.pairs.samples_per_epoch // setup.train.batch_size)
                                   if profile != "paper" else None)}


@torch.no_grad()
def localisation(model, dataset, pairs: int = 96) -> tuple[float, float]:
    """(median peak-to-centre distance in crop pixels, share within one stride) on ``pairs`` positive pairs."""
    batch = next(iter(make_pair_loader(dataset, pairs, 1)))
    model.eval()
    out = model(batch["z"], batch["x"], batch["f_l"], batch["has_sentence"], batch["z_box"])
    score = out.cls.softmax(1)[:, 1]  # (B, H, W)
    width, stride = score.shape[-1], model.config.head.stride
    peak = score.flatten(1).argmax(1)
    offset = model.score_map_offset(training=False)
    peak_xy = torch.stack([peak % width, peak // width], 1) * stride + offset
    box = batch["x_box"]
    error = (peak_xy - (box[:, :2] + box[:, 2:]) / 2).norm(dim=1)
    return float(error.median()), float((error <= stride).float().mean())


def fast_vs_reference(profile: str, root: Path, windows: int, per_window: int, iterations: int,
                      fast_threads: int = 0, fast_shards: int = 1) -> None:
    """Interleaved throughput of the fast and the reference settings, then a paired run of both."""
    setup = TrainingSetup.for_profile(profile)
    sources = [PairSource(open_dataset("mini-lasot", root, "train"))]
    reference_threads = torch.get_num_threads()
    fast_name = "fast (channels-last" + (f", {fast_shards} shards)" if fast_shards > 1 else ")")
    settings = {fast_name: True, "reference (NCHW)": False}
    shards = {True: fast_shards, False: 1}
    torch.set_num_threads(fast_threads or reference_threads)  # the shards split the fast threads between them
    trainers = {name: Trainer("vlt", setup.model, dataclasses.replace(setup.train, channels_last_cpu=flag,
                                                                      cpu_shards=shards[flag]),
                              setup.pairs, sources, Path(tempfile.mkdtemp(prefix="bench-train-")), device="cpu",
                              progress=False) for name, flag in settings.items()}
    torch.set_num_threads(reference_threads)
    batches = list(make_pair_loader(next(iter(trainers.values())).dataset, setup.train.batch_size, 4))
    rates: dict[str, list[float]] = {name: [] for name in trainers}
    threads = {name: (fast_threads or reference_threads) if flag else reference_threads
               for name, flag in settings.items()}
    for window in range(windows + 1):  # the first window of each is a warm-up
        for name, trainer in trainers.items():
            torch.set_num_threads(threads[name])
            start = time.perf_counter()
            for i in range(per_window):
                trainer.train_step(batches[(window * per_window + i) % len(batches)], trainer.iterations_per_epoch)
            if window:
                rates[name].append(setup.train.batch_size * per_window / (time.perf_counter() - start))
    fast, reference = (rates[name] for name in settings)
    ratio = statistics.median(f / r for f, r in zip(fast, reference))
    torch.set_num_threads(reference_threads)
    print(f"{profile} vlt batch {setup.train.batch_size}, threads fast {threads[next(iter(settings))]} / reference "
          f"{reference_threads}: fast "
          f"{statistics.median(fast):.1f} pairs/s, reference {statistics.median(reference):.1f} pairs/s, "
          f"fast/reference {ratio:.2f}x (median of {windows} interleaved windows of {per_window} iterations)", flush=True)

    curves = {}
    runs = {**{name: (flag, 0) for name, flag in settings.items()}, "reference, seed 1": (False, 1)}
    for name, (flag, seed) in runs.items():
        samples = iterations * setup.train.batch_size
        torch.set_num_threads(threads[fast_name] if flag else reference_threads)  # before the shards' split
        train = dataclasses.replace(setup.train, channels_last_cpu=flag, cpu_shards=shards[flag], epochs=1,
                                    warmup_epochs=0.5, log_every=1, bn_recalibration_batches=0, seed=seed)
        trainer = Trainer("vlt", setup.model, train, dataclasses.replace(setup.pairs, samples_per_epoch=samples),
                          sources, Path(tempfile.mkdtemp(prefix="bench-train-paired-")), device="cpu", progress=False)
        losses = []
        trainer.train(callbacks=[lambda _, record: losses.append(record["total"])])
        curves[name] = losses
    fast_curve, reference_curve, other_seed = (curves[name] for name in runs)
    tail = max(1, iterations // 5)

    def gap(curve: list[float]) -> str:
        difference = [abs(a - b) for a, b in zip(curve, reference_curve)]
        return (f"mean |difference| {statistics.mean(difference):.4f}, over the last {tail} iterations "
                f"{statistics.mean(difference[-tail:]):.4f}; mean loss of the last {tail}: "
                f"{statistics.mean(curve[-tail:]):.4f} vs {statistics.mean(reference_curve[-tail:]):.4f}")

    print(f"paired run, {iterations} iterations, total loss against the reference (seed 0):\n"
          f"  fast, seed 0:      {gap(fast_curve)}\n  reference, seed 1: {gap(other_seed)} (the seed spread)")


def compare_optimizers(root: Path, iterations: int) -> None:
    setup = TrainingSetup.for_profile("tiny")
    pairs = dataclasses.replace(setup.pairs, samples_per_epoch=256)
    epochs = max(2, iterations * setup.train.batch_size // pairs.samples_per_epoch)
    settings = {"sgd (SiamCAR: lr 0.01 peak, momentum 0.9)": dict(optimizer="sgd"),
                "adamw (small profiles: lr 0.01 peak)": dict(optimizer="adamw")}
    validation = None
    for name, change in settings.items():
        train = dataclasses.replace(setup.train, epochs=epochs, log_every=20, bn_recalibration_batches=10, **change)
        out = Path(tempfile.mkdtemp(prefix="bench-optimizer-"))
        trainer = Trainer("vlt", setup.model, train, pairs, [PairSource(open_dataset("mini-lasot", root, "train"))],
                          out, device="cpu", progress=False)
        start = time.perf_counter()
        summary = trainer.train()
        if validation is None:
            from vlt_mini.models.text_encoder import TextEncoder
            from vlt_mini.training import PairDataset, SentenceTable

            val_sources = [PairSource(open_dataset("mini-lasot", root, "val"))]
            validation = PairDataset(val_sources, dataclasses.replace(pairs, negative_fraction=0.0),
                                     SentenceTable.from_sources(val_sources, TextEncoder()), seed=1234)
        median, within = localisation(trainer.model, validation)
        print(f"{name}: {trainer.total_iterations} iterations in {time.perf_counter() - start:.0f} s, last loss "
              f"{summary['last']['total']:.2f} (cls {summary['last']['cls']:.3f}); validation peak error median "
              f"{median:.1f} px, {100 * within:.0f}% within one stride", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", default="tiny,cpu", help="comma-separated: tiny, cpu, paper")
    parser.add_argument("--kinds", default="vlt,siamcar", help="model kinds to time")
    parser.add_argument("--root", type=Path, default=None, help="mini-LaSOT root (default: generate per profile)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--windows", type=int, default=5, help="timed windows (the median is reported)")
    parser.add_argument("--per-window", type=int, default=3, help="iterations per window")
    parser.add_argument("--optimizers", action="store_true", help="compare SGD and AdamW from scratch instead")
    parser.add_argument("--fast-vs-reference", action="store_true",
                        help="time channels-last against NCHW and compare a paired run's loss curves")
    parser.add_argument("--fast-shards", type=int, default=1,
                        help="batch shards of the fast settings, each on its own thread (train.cpu_shards; "
                             "--fast-vs-reference; give --fast-threads as many threads)")
    parser.add_argument("--fast-threads", type=int, default=0,
                        help="torch threads of the fast settings (--fast-vs-reference; default: the process's)")
    parser.add_argument("--iterations", type=int, default=320, help="iterations per optimizer (--optimizers)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    if args.fast_vs_reference:
        for profile in args.profiles.split(","):
            root = args.root
            if root is None:
                root = Path(tempfile.mkdtemp(prefix="bench-mini-lasot-cpu-"))
                generate_mini_lasot(root, profile="cpu", seed=0, progress=False)
            fast_vs_reference(profile, root, args.windows, args.per_window, args.iterations, args.fast_threads,
                              args.fast_shards)
        return
    if args.optimizers:
        root = args.root
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="bench-mini-lasot-cpu-"))
            generate_mini_lasot(root, profile="cpu", seed=0, progress=False)
        compare_optimizers(root, args.iterations)
        return
    rows, generated = [], {}
    for profile in args.profiles.split(","):
        root = args.root
        if root is None:  # the profile's own mini-LaSOT (paper-profile crops are timed on the cpu data)
            data_profile = "tiny" if profile == "tiny" else "cpu"
            if data_profile not in generated:
                generated[data_profile] = Path(tempfile.mkdtemp(prefix=f"bench-mini-lasot-{data_profile}-"))
                print(f"generating mini-LaSOT ({data_profile}) in {generated[data_profile]} ...")
                generate_mini_lasot(generated[data_profile], profile=data_profile, seed=0, progress=False)
            root = generated[data_profile]
        for kind in args.kinds.split(","):
            per_window = 1 if profile == "paper" else args.per_window
            row = bench_profile(profile, kind, root, args.device, args.windows, per_window)
            rows.append(row)
            print(f"{profile:5s} {kind:8s} batch {row['batch']:2d}: trainer {row['trainer']:7.1f} pairs/s "
                  f"({row['seconds_per_iteration']:.2f} s/iteration) | loader {row['loader0']:7.1f} pairs/s with 0 "
                  f"workers, {row['loader2']:7.1f} with 2 | loader/trainer {row['loader0'] / row['trainer']:5.1f}x "
                  f"(0 workers), {row['loader2'] / row['trainer']:5.1f}x (2 workers)", flush=True)
            if row["profile_iterations"]:
                print(f"      the {profile} schedule ({row['profile_iterations']} iterations) takes about "
                      f"{row['profile_iterations'] * row['seconds_per_iteration']:.0f} s of compute")
    worst = min(max(r["loader0"], r["loader2"]) / r["trainer"] for r in rows)
    print(f"lowest loader/trainer ratio (best worker setting per row): {worst:.1f}x (the issue asks for >= 2x)")


if __name__ == "__main__":
    main()
