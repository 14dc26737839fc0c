"""The accuracy study: does VLT-mini beat its vision-only baseline, and does it need its sentence? Paired over seeds
and videos, with 95 % intervals.

Per seed, VLT-mini (the official VLT_SCAR candidate scaled to the profile: ModaMixer and the sentence) and the
vision-only SiamCAR baseline (the same backbone paths without ModaMixer) are trained with the profile's recipe
(``train_model``: finished runs reused, unfinished resumed). Each is then tracked on one split in several *arms*:
VLT-mini with its own sentence, with none (the language switched off at test time) and with another video's sentence;
SiamCAR; OpenCV's MIL (no training: tracked once and paired with every seed); and, for the tracker's fidelity change
(issue 13), both networks with the pre-issue-13 tracker update. Every arm scores the same videos, so each comparison is
a (seeds × videos) table of paired SUC differences, summarised by the hierarchical bootstrap of
``vlt_mini.evaluation.statistics`` and read against the paper's difference (Tab. 3, Tab. 4) where it has one:
``reproduces`` when the interval excludes 0 on the paper's side, ``opposite`` on the other, ``inconclusive``
otherwise. The two headline comparisons are also broken down by video subset: a poor first frame, a near-twin of the
target in the scene, neither (mini-LaSOT's ``meta/<video>.json``).

Settings are chosen on the validation split (``split="val"``); the test split is scored once with them.

    vlt-mini study --profile cpu --seeds 0-4 --split test --out runs/study-cpu
    # two cores: one process per network kind with one thread each, then the tables (everything reused)
    OMP_NUM_THREADS=1 vlt-mini study --out runs/study-cpu --kinds vlt &
    OMP_NUM_THREADS=1 vlt-mini study --out runs/study-cpu --kinds siamcar mil; wait
    vlt-mini study --out runs/study-cpu

Writes ``OUT/<split>/study.json``, ``OUT/<split>/study.md``, ``OUT/<split>/comparisons.csv`` and the figure
``OUT/<split>/comparisons.png`` (atomically).
"""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from vlt_mini.tracking.presets import PRE_ISSUE_13

KINDS = ("vlt", "siamcar", "mil")


@dataclass(frozen=True)
class Arm:
    """One way of tracking the split: a network kind (or MIL), the sentence it gets, tracker overrides."""

    name: str
    kind: str                           # "vlt", "siamcar" or "mil"
    sentence: str = "own"               # "own", "none" (language off) or "other-video"
    tracker_overrides: tuple[str, ...] = ()

    @property
    def slug(self) -> str:
        return self.name.lower().replace(", ", "-").replace(" ", "-").replace("'", "")


ARMS = (
    Arm("VLT-mini", "vlt"),
    Arm("VLT-mini, no sentence", "vlt", "none"),
    Arm("VLT-mini, another video's sentence", "vlt", "other-video"),
    Arm("SiamCAR", "siamcar"),
    Arm("MIL", "mil"),
    Arm("VLT-mini, pre-issue-13 tracker", "vlt", tracker_overrides=PRE_ISSUE_13),
    Arm("SiamCAR, pre-issue-13 tracker", "siamcar", tracker_overrides=PRE_ISSUE_13),
)


@dataclass(frozen=True)
class Comparison:
    """``a − b`` in SUC; ``paper_delta`` the paper's difference (None: the paper has none, ``direction`` is the
    expected sign); ``subsets``: also broken down by video subset."""

    table: str
    name: str
    a: str
    b: str
    paper_delta: float | None
    direction: float = 1.0
    subsets: bool = False


def _paper_delta(table: str, row_a: int, row_b: int) -> float:
    from vlt_mini.evaluation.published import ablation_table

    rows = {row.row: row.lasot_suc for row in ablation_table(table)}
    return round(rows[row_a] - rows[row_b], 2)


def comparisons() -> list[Comparison]:
    return [
        # Tab. 3: +ModaMixer +ASS (VLT_SCAR) vs +ASS vision only: the same searched paths with and without ModaMixer
        Comparison("3", "VLT-mini - SiamCAR (vision only, same paths)", "VLT-mini", "SiamCAR",
                   _paper_delta("3", 4, 3), subsets=True),
        # Tab. 4 (0-tensor training): with language vs without at test time
        Comparison("4", "VLT-mini: own sentence - no sentence", "VLT-mini", "VLT-mini, no sentence",
                   _paper_delta("4", 1, 2), subsets=True),
        Comparison("4", "VLT-mini: own sentence - another video's sentence", "VLT-mini",
                   "VLT-mini, another video's sentence", None),
        Comparison("-", "VLT-mini - MIL", "VLT-mini", "MIL", None),
        Comparison("-", "SiamCAR - MIL", "SiamCAR", "MIL", None),
        Comparison("fidelity", "VLT-mini: official tracker update - pre-issue-13 update", "VLT-mini",
                   "VLT-mini, pre-issue-13 tracker", None),
        Comparison("fidelity", "SiamCAR: official tracker update - pre-issue-13 update", "SiamCAR",
                   "SiamCAR, pre-issue-13 tracker", None),
    ]


SUBSETS = ("poor first frame", "near-twin present", "neither")


def results_folder(out_dir, split: str, arm: Arm, seed: int | None) -> Path:
    """``OUT/<split>/<arm>/seed<N>``; MIL has no training and is tracked ``once`` for every seed."""
    return Path(out_dir) / split / arm.slug / ("once" if arm.kind == "mil" or seed is None else f"seed{seed}")


def scores_per_video(sequences, folder: Path) -> tuple[dict, dict[str, float]]:
    """The evaluation of one results folder (``evaluate_trackers``' scores) and its SUC per video."""
    from vlt_mini.evaluation.report import evaluate_trackers

    result = evaluate_trackers(sequences, [folder])["trackers"][Path(folder).name]
    return result, {video: values["suc"] for video, values in result["per_sequence"].items()}


def video_subsets(dataset) -> dict[str, list[str]]:
    """Videos per subset, from mini-LaSOT's ``meta/<video>.json`` (empty for datasets without it)."""
    subsets: dict[str, list[str]] = {name: [] for name in SUBSETS}
    for sequence in dataset:
        meta_file = Path(dataset.root) / "meta" / f"{sequence.name}.json"
        if not meta_file.is_file():
            return {}
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        poor, twin = bool(meta.get("poor_first_frame")), bool(meta.get("twin"))
        if poor:
            subsets["poor first frame"].append(sequence.name)
        if twin:
            subsets["near-twin present"].append(sequence.name)
        if not poor and not twin:
            subsets["neither"].append(sequence.name)
    return subsets


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,2,5"`` -> [0, 2, 5]."""
    seeds: list[int] = []
    try:
        for part in str(text).split(","):
            if "-" in part.strip()[1:]:
                low, high = part.split("-", 1)
                seeds += list(range(int(low), int(high) + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise ValueError(f"--seeds: expected numbers like 0-4 or 0,1,2, got {text!r}") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds: need distinct non-negative seeds, got {text!r}")
    return seeds


def run_study(out_dir, profile: str = "cpu", seeds: Sequence[int] = (0, 1, 2, 3, 4), split: str = "test",
              root=None, dataset: str = "mini-lasot", kinds: Sequence[str] = KINDS,
              training_overrides: Sequence[str] = (), device: str = "auto", progress: bool = True,
              resamples: int = 10_000, arms: Sequence[str] | None = None) -> dict:
    """Train (or reuse) and track every arm of ``kinds`` (and, if given, of ``arms``: slugs) for ``seeds`` on
    ``split``, then score every arm whose runs are all complete and write the tables. Returns the summary
    (``study.json``'s content)."""
    from vlt_mini.arguments import resolve_device
    from vlt_mini.data import open_dataset
    from vlt_mini.experiments.ablations import default_root, replace_sentences, tracker_preset
    from vlt_mini.io import atomic_write_text
    from vlt_mini.tracking import tracker_factory
    from vlt_mini.tracking.presets import hyper_parameters
    from vlt_mini.tracking.runner import results_complete, run_tracker
    from vlt_mini.training import train_model

    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"kinds: unknown {', '.join(unknown)}; choose from {', '.join(KINDS)}")
    unknown = sorted(set(arms or ()) - {arm.slug for arm in ARMS})
    if unknown:
        raise ValueError(f"--arms: unknown {', '.join(unknown)}; choose from {', '.join(arm.slug for arm in ARMS)}")
    out_dir = Path(out_dir)
    device = resolve_device(device)
    root = default_root(dataset, root, profile, progress)
    sequences = open_dataset(dataset, root, split)
    preset = tracker_preset(dataset)
    checkpoints: dict[tuple[str, int], Path] = {}
    for arm in ARMS:
        if arm.kind not in kinds or (arms is not None and arm.slug not in arms):
            continue
        for seed in ([None] if arm.kind == "mil" else seeds):
            results = results_folder(out_dir, split, arm, seed)
            if results_complete(results, sequences):
                continue
            if arm.kind == "mil":
                factory, use_language = tracker_factory("mil"), True
            else:
                if (arm.kind, seed) not in checkpoints:
                    checkpoints[arm.kind, seed] = train_model(
                        arm.kind, root, out_dir / "train" / arm.kind / f"seed{seed}", profile, seed, dataset,
                        overrides=training_overrides, device=device, progress=progress)
                use_language = arm.sentence != "none"
                factory = tracker_factory("vlt", checkpoint=checkpoints[arm.kind, seed],
                                          preset=hyper_parameters(preset, arm.tracker_overrides), device=device,
                                          use_language=use_language)
            tracked = replace_sentences(sequences, "other-video") if arm.sentence == "other-video" else sequences
            run_tracker(factory, tracked, results, progress, use_language=use_language,
                        description=f"{arm.name}" + ("" if seed is None else f" seed {seed}"),
                        settings={"study_arm": arm.name, "sentence": arm.sentence, "preset": preset,
                                  "tracker_overrides": list(arm.tracker_overrides)})

    scores: dict[str, dict[tuple[int, str], float]] = {}
    runs: list[dict] = []
    for arm in ARMS:
        folders = {seed: results_folder(out_dir, split, arm, seed) for seed in seeds}
        if not all(results_complete(folder, sequences) for folder in folders.values()):
            continue
        scores[arm.name] = {}
        evaluated: dict[Path, tuple[dict, dict]] = {}  # MIL's one folder serves every seed
        for seed, folder in folders.items():
            if folder not in evaluated:
                evaluated[folder] = scores_per_video(sequences, folder)
            result, per_video = evaluated[folder]
            scores[arm.name].update({(seed, video): suc for video, suc in per_video.items()})
            runs.append({"arm": arm.name, "seed": seed, "suc": result["suc"], "norm_prec": result["norm_prec"],
                         "prec": result["prec"], "results": folder.relative_to(out_dir).as_posix()})
    rows = compare_arms(scores, video_subsets(sequences), resamples)
    summary = {"profile": profile, "dataset": dataset, "split": split, "root": str(root), "seeds": list(seeds),
               "videos": len(sequences), "training_overrides": list(training_overrides), "runs": runs,
               "comparisons": rows}
    split_dir = out_dir / split
    split_dir.mkdir(parents=True, exist_ok=True)
    if rows:
        from vlt_mini.evaluation.statistics import write_comparisons

        write_comparisons(split_dir / "comparisons.csv", rows)
    atomic_write_text(split_dir / "study.json", json.dumps(summary, indent=1) + "\n")
    atomic_write_text(split_dir / "study.md", format_study(summary))
    if rows:
        import io

        from vlt_mini.io import atomic_write_bytes

        buffer = io.BytesIO()
        study_figure(rows, f"{dataset} {split}, {profile}, seeds {', '.join(map(str, seeds))}").savefig(
            buffer, format="png", dpi=110)
        atomic_write_bytes(split_dir / "comparisons.png", buffer.getvalue())
    return summary


def compare_arms(scores: dict[str, dict[tuple[int, str], float]], subsets: dict[str, list[str]],
                 resamples: int = 10_000) -> list[dict]:
    """``comparisons.csv`` rows for every comparison whose two arms were scored (and its subsets)."""
    from vlt_mini.evaluation.statistics import compare_trackers, verdict

    rows = []
    for comparison in comparisons():
        if comparison.a not in scores or comparison.b not in scores:
            continue
        groups = [("", None)]
        if comparison.subsets:
            groups += [(f" [{name}]", videos) for name, videos in subsets.items() if videos]
        for suffix, videos in groups:
            result = compare_trackers(scores[comparison.a], scores[comparison.b], videos, resamples)
            sign = comparison.paper_delta if comparison.paper_delta is not None else comparison.direction
            rows.append({"table": comparison.table, "comparison": comparison.name + suffix,
                         "paper_delta": "" if comparison.paper_delta is None else comparison.paper_delta,
                         "delta": result.delta, "ci_low": result.ci_low, "ci_high": result.ci_high,
                         "seeds": result.seeds, "videos": result.videos,
                         "verdict": verdict(sign, result.ci_low, result.ci_high)})
    return rows


def format_study(summary: dict) -> str:
    """``study.md``: SUC per arm over seeds, then the paired comparisons with their intervals and verdicts."""
    lines = [f"# Accuracy study on {summary['dataset']} {summary['split']} ({summary['profile']} profile, "
             f"{summary['videos']} videos, seeds {', '.join(map(str, summary['seeds']))})", "",
             "SUC in percent: mean ± sample standard deviation over training seeds (MIL: no training, one run).", "",
             "| arm | SUC | P_norm | P | per seed (SUC) |", "| --- | ---: | ---: | ---: | --- |"]
    for arm in ARMS:
        mine = [run for run in summary["runs"] if run["arm"] == arm.name]
        if not mine:
            continue
        if arm.kind == "mil":
            mine = mine[:1]

        def spread(key):
            values = [run[key] for run in mine]
            return f"{values[0]:.1f}" if len(values) == 1 else \
                f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"

        lines.append(f"| {arm.name} | {spread('suc')} | {spread('norm_prec')} | {spread('prec')} | "
                     + " ".join(f"{run['suc']:.1f}" for run in mine) + " |")
    lines += ["", "Paired differences (a − b, SUC points) with 95 % intervals: a hierarchical bootstrap over seeds, "
              "then videos (`vlt_mini/evaluation/statistics.py`). The verdict reads the interval against the paper's "
              "difference, or against + where the paper has none.", "",
              "| table | comparison | paper | Δ | 95 % interval | seeds | videos | verdict |",
              "| --- | --- | ---: | ---: | --- | ---: | ---: | --- |"]
    for row in summary["comparisons"]:
        paper = "—" if row["paper_delta"] == "" else f"{row['paper_delta']:+.1f}"
        lines.append(f"| {row['table']} | {row['comparison']} | {paper} | {row['delta']:+.1f} | "
                     f"[{row['ci_low']:+.1f}, {row['ci_high']:+.1f}] | {row['seeds']} | {row['videos']} | "
                     f"{row['verdict']} |")
    return "\n".join(lines) + "\n"


def study_figure(rows: Sequence[dict], title: str = ""):
    """Each comparison's paired ΔSUC with its 95 % interval (colour: the verdict), beside the paper's Δ (grey)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8.5, 0.42 * len(rows) + 1.9))
    ax = figure.add_subplot()
    for y, row in enumerate(rows):
        if row["paper_delta"] != "":
            ax.barh(y - 0.2, float(row["paper_delta"]), height=0.35, color="#9e9e9e",
                    label="paper (LaSOT)" if "paper (LaSOT)" not in ax.get_legend_handles_labels()[1] else None)
        colour = {"reproduces": "#2ca02c", "opposite": "#d62728"}.get(row["verdict"], "#ff7f0e")
        ax.barh(y + 0.2, float(row["delta"]), height=0.35, color=colour, alpha=0.85,
                label="ours (colour = verdict)" if y == 0 else None)
        ax.plot([float(row["ci_low"]), float(row["ci_high"])], [y + 0.2] * 2, color="black", linewidth=1.4,
                label="95 % interval" if y == 0 else None)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"T{row['table']}: {row['comparison']}" if row["table"] not in ("-", "fidelity")
                        else row["comparison"] for row in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("paired ΔSUC (points)")
    if title:
        ax.set_title(title, fontsize=10, loc="left", pad=24)
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, frameon=False)
    figure.tight_layout()
    return figure
