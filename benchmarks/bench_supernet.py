"""Supernet forward latency on CPU (batch 1, stride 8) per profile, with parameters and multiply-adds of the path.

    python benchmarks/bench_supernet.py [--profiles tiny cpu paper] [--runs 10] [--threads 2]

Prints the median of ``--runs`` timed forwards (after warm-up) of the SPOS ImageNet path for the template (127) and
the search crop (255), and the ratio to the ``tiny`` profile measured in the same run. Also the parameter / multiply-add
spread over 100 uniformly sampled paths (the numbers the FLOPs-constrained sampling of SPOS would look at).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from vlt_mini.models import SPOS_IMAGENET_PATH, SPOSSupernet, count_macs, count_parameters, sample_path


def median_latency_ms(model: SPOSSupernet, size: int, runs: int) -> float:
    x = torch.randn(1, 3, size, size)
    with torch.inference_mode():
        for _ in range(2):
            model(x, SPOS_IMAGENET_PATH)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            model(x, SPOS_IMAGENET_PATH)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="+", default=["tiny", "cpu", "paper"])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    profiles = ["tiny"] + [p for p in args.profiles if p != "tiny"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, stride 8, batch 1, path {SPOS_IMAGENET_PATH}")
    print(f"{'profile':8} {'params (M)':>10} {'MACs z127 (M)':>14} {'MACs x255 (M)':>14} "
          f"{'z127 ms':>8} {'x255 ms':>8} {'x255 / tiny':>11}")
    baseline = None
    for profile in profiles:
        model = SPOSSupernet(profile=profile, stride=8).eval()
        z_ms, x_ms = median_latency_ms(model, 127, args.runs), median_latency_ms(model, 255, args.runs)
        baseline = baseline or x_ms
        print(f"{profile:8} {count_parameters(model, SPOS_IMAGENET_PATH) / 1e6:10.3f} "
              f"{count_macs(model, SPOS_IMAGENET_PATH, 127) / 1e6:14.1f} "
              f"{count_macs(model, SPOS_IMAGENET_PATH, 255) / 1e6:14.1f} "
              f"{z_ms:8.1f} {x_ms:8.1f} {x_ms / baseline:11.2f}")
    rng = np.random.default_rng(0)
    paper = SPOSSupernet(profile="paper", stride=8)
    paths = [sample_path(rng) for _ in range(100)]
    params = np.array([count_parameters(paper, p) for p in paths]) / 1e6
    macs = np.array([count_macs(paper, p, 255) for p in paths]) / 1e9
    print(f"paper, 100 random paths: params {params.min():.2f}-{params.max():.2f} M (median {np.median(params):.2f}); "
          f"x255 MACs {macs.min():.2f}-{macs.max():.2f} G (median {np.median(macs):.2f})")


if __name__ == "__main__":
    main()
