"""Paired comparisons of two trackers with a confidence interval: a hierarchical bootstrap over seeds and videos.

Two trackers (or two rows of an ablation table) are scored on the same test videos after trainings with the same
seeds, so each (seed, video) gives one paired difference of SUC. Two sources of chance move the mean difference:
the training seed (the network itself changes; training is chaotic, issue 13) and the choice of videos (some suit
one tracker). The hierarchical bootstrap resamples both, in the order the data were made: first the seeds with
replacement, then, within each drawn seed, the videos with replacement; the statistic is the mean of the drawn
differences. Its 2.5 and 97.5 percentiles over the resamples give the 95 % interval (the percentile bootstrap;
Efron & Tibshirani, "An Introduction to the Bootstrap", 1993, ch. 13; for the two-level resampling see Davison &
Hinkley, "Bootstrap Methods and their Application", 1997, §3.8). With one seed it is the bootstrap over videos alone,
which ignores the seed-to-seed variance: such an interval is too narrow, and ``seeds`` says so in every output.

Few seeds: resampling S seeds with replacement can only mix S values, so the percentile interval's seed level is too
narrow for small S (with 3 seeds its 2.5 % point is essentially the smallest seed's difference, so three differences of
one sign always "exclude 0"). The interval is therefore widened, where needed, to the Student-t interval of the
per-seed mean differences (mean ± t(0.975, S − 1) · sd / √S), which is exact for normal seed effects; the
bootstrap keeps the video-set variance (the same videos serve every seed), the t interval the small-sample seed
variance, and the reported interval is the union of the two.

The verdict reads the interval against the paper's sign: ``reproduces`` when it excludes 0 on the paper's side,
``opposite`` when it excludes 0 on the other side, ``inconclusive`` otherwise (including a paper difference of 0).
numpy only.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

VERDICTS = ("reproduces", "opposite", "inconclusive")
COMPARISON_COLUMNS = ("table", "comparison", "paper_delta", "delta", "ci_low", "ci_high", "seeds", "videos", "verdict")


@dataclass(frozen=True)
class PairedComparison:
    """The mean paired difference (``a − b``) with its bootstrap interval; ``seeds`` and ``videos`` it rests on."""

    delta: float
    ci_low: float
    ci_high: float
    seeds: int
    videos: int

    def verdict(self, paper_delta: float) -> str:
        return verdict(paper_delta, self.ci_low, self.ci_high)


def verdict(paper_delta: float, ci_low: float, ci_high: float) -> str:
    """``reproduces`` / ``opposite`` / ``inconclusive`` from the interval and the paper's difference."""
    if ci_low > ci_high:
        raise ValueError(f"confidence interval [{ci_low}, {ci_high}] is empty")
    if paper_delta == 0 or ci_low <= 0 <= ci_high:
        return VERDICTS[2]
    return VERDICTS[0] if (ci_low > 0) == (paper_delta > 0) else VERDICTS[1]


# Student-t 97.5 % quantiles for 1..30 degrees of freedom (numpy has no t distribution)
_T_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
          2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def student_t_975(degrees_of_freedom: int) -> float:
    """The 97.5 % quantile of Student's t (tabled to 30 degrees of freedom, then the normal's 1.96 plus the first
    correction term 2.4 / df)."""
    if degrees_of_freedom < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {degrees_of_freedom}")
    return _T_975[degrees_of_freedom - 1] if degrees_of_freedom <= len(_T_975) else 1.96 + 2.4 / degrees_of_freedom


def hierarchical_bootstrap(differences, resamples: int = 10_000, confidence: float = 0.95,
                           seed: int = 0, few_seeds_guard: bool = True) -> PairedComparison:
    """``differences`` (seeds, videos): paired differences per training seed (rows) and video (columns) ->
    the mean difference and its percentile interval, resampling seeds, then videos within each drawn seed.

    NaN entries (a video a seed did not score) are left out of that seed's means. ``seed`` seeds the resampling
    so the interval is reproducible. ``few_seeds_guard`` (95 % only): widen to the Student-t interval over seeds
    where that is wider (module notes).
    """
    values = np.asarray(differences, dtype=np.float64)
    if values.ndim == 1:
        values = values[None]
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"differences must be a non-empty (seeds, videos) array, got shape {values.shape}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if resamples < 100:
        raise ValueError(f"use at least 100 bootstrap resamples, got {resamples}")
    present = ~np.isnan(values)
    if not present.any(axis=1).all():
        raise ValueError("every seed needs at least one scored video")
    num_seeds, num_videos = values.shape
    rng = np.random.default_rng(seed)
    filled = np.where(present, values, 0.0)
    seed_draw = rng.integers(0, num_seeds, size=(resamples, num_seeds))                # (R, S)
    means = np.empty(resamples)
    chunk = max(1, 2_000_000 // max(1, num_seeds * num_videos))  # bound the memory of one (chunk, S, V) draw
    for start in range(0, resamples, chunk):
        rows = seed_draw[start:start + chunk]                                          # (r, S)
        video_draw = rng.integers(0, num_videos, size=(*rows.shape, num_videos))      # (r, S, V)
        picked = filled[rows[..., None], video_draw]                                  # (r, S, V)
        counted = present[rows[..., None], video_draw]
        per_seed = picked.sum(axis=2) / np.maximum(counted.sum(axis=2), 1)            # (r, S)
        valid = counted.any(axis=2)  # a draw of only missing videos says nothing about that seed
        means[start:start + len(rows)] = (per_seed * valid).sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
    per_seed_mean = filled.sum(axis=1) / present.sum(axis=1)
    alpha = (1 - confidence) / 2
    low, high = (float(v) for v in np.quantile(means, [alpha, 1 - alpha]))
    centre = float(per_seed_mean.mean())
    if few_seeds_guard and num_seeds > 1 and abs(confidence - 0.95) < 1e-9:
        half = student_t_975(num_seeds - 1) * float(per_seed_mean.std(ddof=1)) / np.sqrt(num_seeds)
        low, high = min(low, centre - half), max(high, centre + half)
    return PairedComparison(centre, low, high, num_seeds, num_videos)


def paired_differences(scores_a: Mapping[tuple[int, str], float], scores_b: Mapping[tuple[int, str], float],
                       videos: Sequence[str] | None = None) -> tuple[np.ndarray, list[int], list[str]]:
    """``{(seed, video): SUC}`` of two trackers -> (seeds, videos) array of ``a − b`` over the seeds and videos both
    scored (optionally only ``videos``, e.g. a subset such as "near-twin present"), with the seeds and videos used."""
    common = set(scores_a) & set(scores_b)
    if videos is not None:
        wanted = set(videos)
        common = {key for key in common if key[1] in wanted}
    if not common:
        raise ValueError("the two trackers have no (seed, video) in common")
    seeds = sorted({seed for seed, _ in common})
    names = sorted({video for _, video in common})
    table = np.full((len(seeds), len(names)), np.nan)
    seed_index, video_index = {s: i for i, s in enumerate(seeds)}, {v: i for i, v in enumerate(names)}
    for seed, video in common:
        table[seed_index[seed], video_index[video]] = scores_a[seed, video] - scores_b[seed, video]
    return table, seeds, names


def compare_trackers(scores_a: Mapping[tuple[int, str], float], scores_b: Mapping[tuple[int, str], float],
                     videos: Sequence[str] | None = None, resamples: int = 10_000, confidence: float = 0.95,
                     seed: int = 0) -> PairedComparison:
    """Paired comparison of tracker ``a`` against ``b`` (``{(seed, video): SUC}`` each): mean ``a − b`` and its
    hierarchical-bootstrap interval."""
    table, _, _ = paired_differences(scores_a, scores_b, videos)
    return hierarchical_bootstrap(table, resamples, confidence, seed)


def comparison_row(table: str, comparison: str, paper_delta: float, result: PairedComparison) -> dict:
    """One row of ``comparisons.csv``."""
    return {"table": table, "comparison": comparison, "paper_delta": paper_delta, "delta": result.delta,
            "ci_low": result.ci_low, "ci_high": result.ci_high, "seeds": result.seeds, "videos": result.videos,
            "verdict": result.verdict(paper_delta)}


def format_comparisons_csv(rows: Sequence[Mapping]) -> str:
    """``table,comparison,paper_delta,delta,ci_low,ci_high,seeds,videos,verdict`` (numbers to 2 decimals)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COMPARISON_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        missing = [column for column in COMPARISON_COLUMNS if column not in row]
        if missing:
            raise ValueError(f"comparison row {dict(row)} lacks {', '.join(missing)}")
        writer.writerow({column: (round(row[column], 2) if isinstance(row[column], float) else row[column])
                         for column in COMPARISON_COLUMNS})
    return buffer.getvalue()


def write_comparisons(path: str | Path, rows: Sequence[Mapping]) -> Path:
    """Write ``results/<study>/comparisons.csv`` atomically."""
    from vlt_mini.io import atomic_write_text

    path = Path(path)
    atomic_write_text(path, format_comparisons_csv(rows))
    return path
