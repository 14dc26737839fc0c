"""VLT network latency and memory on CPU (batch 1, template cached) per profile, VLT_SCAR vs the vision-only baseline.

    python benchmarks/bench_models.py [--profiles tiny cpu paper] [--runs 10] [--warmup 3] [--threads 2]

For each profile and variant (VLT_SCAR with ModaMixer, and ``use_modamixer=False``: SiamCAR on the same backbone), both
with the official VLT_SCAR candidate, a fresh subprocess builds the network in eval mode and measures:

- ``template ms``: ``encode_template`` (once per video when tracking);
- ``search ms``: ``forward_search`` with the template state cached, i.e. the per-frame cost of tracking;
- ``full ms``: the full ``forward`` (template + search every call), the baseline the cached path is compared with;
- ``peak MB``: the growth of the process's peak resident memory (``ru_maxrss``) from just before building the network
  to after the timed runs: weights plus activations of one forward pass.

Times are medians of ``--runs`` timed calls after ``--warmup`` untimed ones, under ``torch.inference_mode``. The
language embedding is a fixed vector of the right width: a sentence is encoded once per video and cached, so BERT is
not part of the per-frame cost. Parameters and multiply-adds come from ``count_vlt_parameters`` / ``count_vlt_macs``;
the ``paper`` VLT_SCAR line is the official network on 127 / 255 crops.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

VARIANTS = {"VLT_SCAR": True, "vision-only": False}  # name -> use_modamixer


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def median_ms(action, runs: int, warmup: int) -> float:
    for _ in range(warmup):
        action()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def measure(profile: str, variant: str, runs: int, warmup: int, threads: int) -> dict:
    """Runs in its own process so that the peak-memory figure belongs to this network alone."""
    import torch

    from vlt_mini.models import VLTConfig, VLTNet, count_vlt_macs, count_vlt_parameters

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = VLTConfig.for_profile(profile, use_modamixer=VARIANTS[variant])
    z = torch.rand(1, 3, config.template_size, config.template_size) * 255  # BGR, 0-255
    x = torch.rand(1, 3, config.search_size, config.search_size) * 255
    f_l = torch.randn(1, config.language_dim) if config.use_modamixer else None
    rss_before = peak_rss_mb()

    model = VLTNet(config).eval()
    with torch.inference_mode():
        template_ms = median_ms(lambda: model.encode_template(z, f_l), runs, warmup)
        state = model.encode_template(z, f_l)
        search_ms = median_ms(lambda: model.forward_search(x, state), runs, warmup)
        full_ms = median_ms(lambda: model(z, x, f_l), runs, warmup)
    peak_mb = peak_rss_mb() - rss_before

    macs = count_vlt_macs(model)
    return {
        "profile": profile, "variant": variant, "template_size": config.template_size,
        "search_size": config.search_size, "params": count_vlt_parameters(model),
        "macs_template": macs["template"], "macs_search": macs["search"], "template_ms": template_ms,
        "search_ms": search_ms, "full_ms": full_ms, "peak_mb": peak_mb, "threads": torch.get_num_threads(),
    }


def run_worker(profile: str, variant: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--worker", profile, variant, "--runs", str(args.runs),
               "--warmup", str(args.warmup), "--threads", str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark worker {profile}/{variant} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="+", default=["tiny", "cpu", "paper"], choices=["tiny", "cpu", "paper"])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", nargs=2, metavar=("PROFILE", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runs < 1 or args.warmup < 0 or args.threads < 1:
        parser.error("--runs and --threads must be >= 1 and --warmup >= 0")
    if args.worker:
        print(json.dumps(measure(*args.worker, args.runs, args.warmup, args.threads)))
        return

    import torch

    print(f"torch {torch.__version__}, CPU, {args.threads} threads, batch 1, official VLT_SCAR candidate; "
          f"median of {args.runs} runs after {args.warmup} warm-up")
    header = (f"{'profile':8} {'variant':12} {'crops':>8} {'params M':>8} {'GMACs z':>8} {'GMACs x':>8} "
              f"{'templ ms':>8} {'search ms':>9} {'full ms':>8} {'full/srch':>9} {'fps':>6} {'peak MB':>8} "
              f"{'srch/vision':>11}")
    print(header)
    print("-" * len(header))
    rows = []
    for profile in args.profiles:
        results = {variant: run_worker(profile, variant, args) for variant in VARIANTS}
        for variant, r in results.items():
            rows.append(r)
            overhead = r["search_ms"] / results["vision-only"]["search_ms"]
            print(f"{profile:8} {variant:12} {r['template_size']:>3}/{r['search_size']:<4} {r['params'] / 1e6:8.2f} "
                  f"{r['macs_template'] / 1e9:8.3f} {r['macs_search'] / 1e9:8.3f} {r['template_ms']:8.1f} "
                  f"{r['search_ms']:9.1f} {r['full_ms']:8.1f} {r['full_ms'] / r['search_ms']:9.2f} "
                  f"{1000.0 / r['search_ms']:6.1f} {r['peak_mb']:8.1f} {overhead:11.2f}")
    paper = [r for r in rows if r["profile"] == "paper" and r["variant"] == "VLT_SCAR"]
    if paper:
        r = paper[0]
        print(f"\npaper VLT_SCAR (template {r['template_size']}, search {r['search_size']}): "
              f"{r['params'] / 1e6:.2f} M parameters, {r['macs_template'] / 1e9:.3f} G multiply-adds per template, "
              f"{r['macs_search'] / 1e9:.3f} G per search frame")
    print("full/srch: full forward / cached-template search forward; srch/vision: search ms / vision-only search ms "
          "of the same profile; fps = 1000 / search ms")


if __name__ == "__main__":
    main()
