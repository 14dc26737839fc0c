"""How a tracking dataset behaves, measured the same way on any dataset the readers open, and compared side by side.

``vlt-mini data compare --dataset mini-lasot --root DIR --reference lasot:ROOT`` prints the table of
``compare_datasets`` and can plot ``comparison_figure``. Every statistic comes from the annotations a reader returns
(``Sequence``: boxes, visibility, sentence, attributes), so real LaSOT in the toolkit's annotation layout (no frames)
and the synthetic mini-LaSOT are measured by one code path. Per-frame statistics are pooled over every consecutive
pair of frames in which the target is present in both (boxes with a positive width and height):

- motion / size: ``|c_t - c_{t-1}| / sqrt(w_{t-1} h_{t-1})`` (centre displacement relative to the target's size);
- scale change: ``|log(sqrt(w_t h_t) / sqrt(w_{t-1} h_{t-1}))|``; aspect-ratio change: ``|log(r_t / r_{t-1})|``
  with ``r = w / h``;
- scale range of a video: the 95th / 5th percentile of ``sqrt(w h)`` over its present frames;
- absence: the fraction of absent frames of a video, and the lengths of its runs of consecutive absent frames;
- relative size: ``sqrt(w h / (W H))`` with the frame size ``W x H`` read from the first frame, skipped (with a
  note) where a dataset has annotations only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vlt_mini.data.registry import Dataset, open_dataset
from vlt_mini.data.sequence import LASOT_ATTRIBUTES, Sequence

FAST = 0.25    # motion / size above this in one frame: a fast frame
STILL = 0.005  # ... below this: a still frame


@dataclass
class DatasetStatistics:
    """Per-video and pooled per-frame measurements of one dataset split (``measure_dataset``)."""

    label: str
    lengths: np.ndarray                      # (V,) frames per video
    motion: np.ndarray                       # pooled per-frame centre motion / size
    scale_change: np.ndarray                 # pooled per-frame |log size change|
    aspect_change: np.ndarray                # pooled per-frame |log aspect-ratio change|
    video_motion: np.ndarray                 # (V,) median motion / size of each video
    scale_range: np.ndarray                  # (V,) p95 / p5 of sqrt(w h) within each video
    absent_fraction: np.ndarray              # (V,)
    absent_runs: np.ndarray                  # lengths of every run of absent frames
    relative_size: np.ndarray | None         # pooled sqrt(w h / (W H)); None without frames
    attributes: dict[str, float]             # attribute -> fraction of videos (only where the dataset has them)
    sentence_words: np.ndarray               # (S,) words per sentence
    vocabulary: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    @property
    def videos(self) -> int:
        return len(self.lengths)


def _present(sequence: Sequence) -> tuple[np.ndarray, np.ndarray]:
    boxes = sequence.ground_truth
    present = sequence.visible & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
    return boxes, present


def _runs(flags: np.ndarray) -> np.ndarray:
    """Lengths of the runs of True in a boolean array."""
    padded = np.concatenate([[False], flags.astype(bool), [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return edges[1::2] - edges[0::2]


def words_of(sentence: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", sentence.lower())


def _frame_size(sequence: Sequence) -> tuple[int, int] | None:
    if not sequence.has_frames:
        return None
    height, width = sequence.frame(0).shape[:2]
    return width, height


def measure_dataset(dataset: Dataset, label: str | None = None, frame_sizes: bool = True) -> DatasetStatistics:
    """Measure one split (see the module docstring). ``frame_sizes=False`` skips reading first frames."""
    motion, scale, aspect, relative, runs = [], [], [], [], []
    lengths, video_motion, scale_range, absent_fraction, words = [], [], [], [], []
    vocabulary: set[str] = set()
    notes: list[str] = []
    without_frames = 0
    for sequence in dataset:
        boxes, present = _present(sequence)
        lengths.append(len(boxes))
        absent_fraction.append(float((~sequence.visible).mean()) if len(boxes) else 0.0)
        runs.append(_runs(~sequence.visible))
        size = np.sqrt(np.maximum(boxes[:, 2] * boxes[:, 3], 1e-9))
        centre = boxes[:, :2] + boxes[:, 2:] / 2
        both = present[1:] & present[:-1]
        step = np.hypot(*np.diff(centre, axis=0).T)[both] / size[:-1][both]
        motion.append(step)
        video_motion.append(float(np.median(step)) if len(step) else np.nan)
        scale.append(np.abs(np.diff(np.log(size)))[both])
        ratio = np.log(np.maximum(boxes[:, 2], 1e-9) / np.maximum(boxes[:, 3], 1e-9))
        aspect.append(np.abs(np.diff(ratio))[both])
        if present.sum() >= 2:
            low, high = np.percentile(size[present], [5, 95])
            scale_range.append(float(high / max(low, 1e-9)))
        frame = _frame_size(sequence) if frame_sizes else None
        if frame is None:
            without_frames += 1
        else:
            relative.append(size[present] / np.sqrt(frame[0] * frame[1]))
        if sequence.sentence:
            tokens = words_of(sequence.sentence)
            words.append(len(tokens))
            vocabulary.update(tokens)
    if without_frames:
        notes.append(f"relative target size skipped: {without_frames} of {len(lengths)} videos have no frames "
                     "(annotations only) or frame sizes were not read")
    with_attributes = [s.attributes for s in dataset if s.attributes]
    attributes = {name: float(np.mean([a.get(name, False) for a in with_attributes]))
                  for name in LASOT_ATTRIBUTES} if with_attributes else {}
    if not with_attributes:
        notes.append("no attribute files: attribute frequencies skipped")

    def pooled(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0)

    return DatasetStatistics(
        label=label or f"{dataset.name} {dataset.split}",
        lengths=np.array(lengths, dtype=np.int64), motion=pooled(motion), scale_change=pooled(scale),
        aspect_change=pooled(aspect), video_motion=np.array(video_motion, dtype=np.float64),
        scale_range=np.array(scale_range, dtype=np.float64), absent_fraction=np.array(absent_fraction),
        absent_runs=pooled(runs).astype(np.int64), relative_size=pooled(relative) if relative else None,
        attributes=attributes, sentence_words=np.array(words, dtype=np.int64), vocabulary=vocabulary, notes=notes,
    )


def _median(values: np.ndarray) -> float:
    return float(np.nanmedian(values)) if len(values) else float("nan")


def summary_rows(stats: DatasetStatistics) -> list[tuple[str, str]]:
    """(statistic, formatted value) rows of one dataset, in the order of the comparison table."""
    def number(value: float, digits: int = 3) -> str:
        return "n/a" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"

    frames = int(stats.lengths.sum())
    with_absence = stats.absent_fraction > 0
    rows = [
        ("videos", str(stats.videos)),
        ("frames", str(frames)),
        ("median video length (frames)", number(_median(stats.lengths), 0)),
        ("mean video length (frames)", number(stats.lengths.mean() if stats.videos else np.nan, 0)),
        ("median per-frame centre motion / target size", number(_median(stats.motion))),
        ("mean per-frame centre motion / target size", number(stats.motion.mean() if len(stats.motion) else np.nan)),
        (f"fraction of fast frames (motion / size > {FAST})",
         number((stats.motion > FAST).mean() if len(stats.motion) else np.nan)),
        (f"fraction of still frames (motion / size < {STILL})",
         number((stats.motion < STILL).mean() if len(stats.motion) else np.nan)),
        ("median over videos of the video's median motion / size", number(_median(stats.video_motion))),
        ("median per-frame abs(log size change)", number(_median(stats.scale_change))),
        ("median per-frame abs(log aspect-ratio change)", number(_median(stats.aspect_change))),
        ("median scale range within a video (p95 / p5 of size)", number(_median(stats.scale_range), 2)),
        ("mean fraction of absent frames", number(stats.absent_fraction.mean() if stats.videos else np.nan)),
        ("videos with absent frames", number(with_absence.mean() if stats.videos else np.nan, 2)),
        ("absence runs per 1000 frames", number(1000 * len(stats.absent_runs) / max(frames, 1), 2)),
        ("median absence run length (frames)", number(_median(stats.absent_runs), 0)),
        ("median relative target size sqrt(wh / WH)",
         "n/a (no frames)" if stats.relative_size is None else number(_median(stats.relative_size))),
    ]
    for name in LASOT_ATTRIBUTES:
        rows.append((f"attribute {name} (fraction of videos)",
                     number(stats.attributes[name], 2) if name in stats.attributes else "n/a"))
    rows += [
        ("mean words per sentence", number(stats.sentence_words.mean() if len(stats.sentence_words) else np.nan, 1)),
        ("vocabulary (distinct words)", str(len(stats.vocabulary))),
        ("distinct words per sentence", number(len(stats.vocabulary) / max(len(stats.sentence_words), 1), 2)),
    ]
    return rows


def comparison_table(statistics: list[DatasetStatistics], markdown: bool = True) -> str:
    """The datasets side by side: a markdown table (or aligned plain text), notes below it."""
    columns = [summary_rows(stats) for stats in statistics]
    names = [name for name, _ in columns[0]]
    header = ["statistic", *(stats.label for stats in statistics)]
    body = [[name, *(column[row][1] for column in columns)] for row, name in enumerate(names)]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * len(statistics)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
    else:
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
                 for row in [header, *body]]
    for stats in statistics:
        lines += [f"note ({stats.label}): {note}" for note in stats.notes]
    return "\n".join(lines)


def comparison_figure(statistics: list[DatasetStatistics]):
    """A 2 x 4 matplotlib figure: distributions of the per-video and per-frame statistics, attribute frequencies."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 4, figsize=(16, 7))

    def cdf(axis, values_of, title, log=True):
        for stats in statistics:
            values = np.sort(np.asarray(values_of(stats), dtype=np.float64))
            values = values[np.isfinite(values)]
            if log:
                values = values[values > 0]
            if len(values):
                axis.plot(values, np.arange(1, len(values) + 1) / len(values), label=stats.label)
        if log:
            axis.set_xscale("log")
        axis.set_title(title, fontsize=10)
        axis.set_ylabel("fraction")
        axis.grid(alpha=0.3)

    cdf(axes[0, 0], lambda s: s.lengths, "video length (frames)")
    cdf(axes[0, 1], lambda s: s.motion, "per-frame centre motion / size")
    cdf(axes[0, 2], lambda s: s.scale_change, "per-frame |log size change|")
    cdf(axes[0, 3], lambda s: s.scale_range, "scale range in a video (p95/p5)")
    cdf(axes[1, 0], lambda s: s.absent_fraction, "absent fraction of a video", log=False)
    cdf(axes[1, 1], lambda s: s.relative_size if s.relative_size is not None else [],
        "relative target size (where frames exist)")
    width = 0.8 / len(statistics)
    for number, stats in enumerate(statistics):
        values = [stats.attributes.get(name, np.nan) for name in LASOT_ATTRIBUTES]
        axes[1, 2].bar(np.arange(len(LASOT_ATTRIBUTES)) + number * width, values, width, label=stats.label)
    axes[1, 2].set_xticks(np.arange(len(LASOT_ATTRIBUTES)) + 0.4 - width / 2, LASOT_ATTRIBUTES, rotation=90,
                          fontsize=8)
    axes[1, 2].set_title("attributes (fraction of videos)", fontsize=10)
    top = max([int(s.sentence_words.max()) for s in statistics if len(s.sentence_words)] + [1])
    for stats in statistics:
        if len(stats.sentence_words):
            axes[1, 3].hist(stats.sentence_words, bins=np.arange(0.5, top + 1.5), density=True, alpha=0.5,
                            label=stats.label)
    axes[1, 3].set_title("words per sentence", fontsize=10)
    axes[0, 0].legend(fontsize=8)
    figure.tight_layout()
    return figure


def parse_reference(text: str) -> tuple[str, str | None]:
    """``NAME:ROOT`` (or ``NAME`` for the dataset's environment variable) -> (name, root or None)."""
    from vlt_mini.data.registry import DATASETS

    name, _, root = text.partition(":")
    if name not in DATASETS:
        raise ValueError(f"--reference {text!r}: expected NAME:ROOT with NAME one of {', '.join(DATASETS)}")
    return name, root or None


def compare_datasets(dataset: str, root, reference: str, split: str = "test", reference_split: str | None = None,
                     plot=None, markdown: bool = True) -> str:
    """Measure ``dataset`` at ``root`` and ``reference`` (``NAME:ROOT``) and return the side-by-side table;
    ``plot``: a PNG path for ``comparison_figure``."""
    reference_name, reference_root = parse_reference(reference)
    first = open_dataset(dataset, root, split)
    second = open_dataset(reference_name, reference_root, reference_split or split)
    statistics = [measure_dataset(first, f"{dataset} {split}"),
                  measure_dataset(second, f"{reference_name} {reference_split or split}")]
    if plot is not None:
        import matplotlib.pyplot as plt

        figure = comparison_figure(statistics)
        Path(plot).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(plot, dpi=90)
        plt.close(figure)
    return comparison_table(statistics, markdown=markdown)
