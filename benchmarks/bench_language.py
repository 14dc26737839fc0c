"""Sentence-embedding throughput of the TextEncoder: batched vs one sentence per call, and cache hits.

    python benchmarks/bench_language.py [--model minilm] [--runs 5] [--threads 2] [--batch-size 64]

Encodes the 280 LaSOT test sentences (``../shared/data/lasot_test_annos/nlp``, or 280 synthetic sentences where that
folder is absent) and prints sentences/s as the median of ``--runs`` timed runs for: one ``encode`` call per sentence
(the baseline: one call per video), one batched call, a memory-cache hit, and a fresh encoder answering from the disk
cache (BERT not loaded). Ratios are against the one-per-call baseline measured in the same run.
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import torch

from vlt_mini.models.text_encoder import DEFAULT_TEXT_MODEL, TextEncoder

SHARED_NLP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lasot_test_annos" / "nlp"


def load_sentences() -> tuple[list[str], str]:
    files = sorted(SHARED_NLP.glob("*.txt")) if SHARED_NLP.is_dir() else []
    if files:
        return [path.read_text(encoding="utf-8").strip() for path in files], f"{len(files)} LaSOT test sentences"
    rng = random.Random(0)
    colours, things = ["white", "black", "red", "small", "striped"], ["airplane", "dog", "person", "car", "boat"]
    verbs = ["moving left on the road", "flying in the blue sky", "standing next to a tree", "running on grass"]
    return [f"{rng.choice(colours)} {rng.choice(things)} {rng.choice(verbs)} {i}" for i in range(280)], \
        "280 synthetic sentences"


def median_seconds(action, runs: int, before=None) -> float:
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_TEXT_MODEL)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sentences, source = load_sentences()
    with tempfile.TemporaryDirectory() as cache_dir:
        encoder = TextEncoder(model=args.model, cache_dir=cache_dir, batch_size=args.batch_size)
        start = time.perf_counter()
        encoder.encode(sentences[:2])  # loads BERT and warms it up
        load_s = time.perf_counter() - start
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {encoder!r}, {source}; "
              f"model load + first call {load_s:.1f} s")

        def one_per_call():
            for sentence in sentences:
                encoder.encode([sentence])

        rows = []
        single = median_seconds(one_per_call, args.runs, before=encoder.clear_memory)
        rows.append(("one sentence per call", single))
        rows.append((f"batched (batch {args.batch_size})",
                     median_seconds(lambda: encoder.encode(sentences), args.runs, before=encoder.clear_memory)))
        encoder.encode(sentences)
        rows.append(("memory-cache hit", median_seconds(lambda: encoder.encode(sentences), args.runs)))
        fresh = []
        rows.append(("disk-cache hit (new encoder)",
                     median_seconds(lambda: fresh.append(TextEncoder(model=args.model, cache_dir=cache_dir)
                                                         .encode(sentences)), args.runs)))
        assert not TextEncoder(model=args.model, cache_dir=cache_dir).is_loaded
    print(f"{'mode':32} {'median s':>9} {'sentences/s':>12} {'x one-per-call':>15}")
    for name, seconds in rows:
        print(f"{name:32} {seconds:9.4f} {len(sentences) / seconds:12.0f} {single / seconds:15.1f}")


if __name__ == "__main__":
    main()
