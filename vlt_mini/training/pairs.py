"""Template / search training pairs, as SiamCAR (pysot) samples them, with the video's sentence (docs/official_code.md).

References: pysot ``datasets/dataset.py`` (``TrkDataset``, ``SubDataset.get_positive_pair``: a template frame and a
search frame at most ``frame_range`` apart; negatives: the search crop from another video) and
``datasets/augmentation.py`` (shift / scale jitter of the crop window, colour, cross-shaped motion blur), with
SiamCAR's settings: template shift ±4 px, scale ±5 %, no blur; search shift ±64 px, scale ±18 %, blur 0.2;
negatives 20 %. VLT pairs also carry the sentence embedding ``f_l`` of the video (paper §3.2).

Choices that differ from pysot, on purpose:
- Negative pairs are labelled negative. The official VLT code labels them positive (a bug, docs/official_code.md).
- No hue / grey / flip augmentation: sentences name colours and directions ("red car moving to the left"), so those
  would make the sentence false. Colour jitter is brightness and contrast only.
- The scale jitter draws the x and y scales independently, as pysot's ``_shift_scale_aug`` (so the pairs show
  targets of other aspect ratios); ``PairConfig.per_axis_scale=False`` draws one scale for both (vlt-mini before
  issue 13).
- Every sample draws from ``np.random.default_rng([seed, epoch, index])`` only, so it is the same with any number of
  workers or processes, and a resumed run sees exactly the data of an uninterrupted one.

Three additions for long videos with look-alikes (mini-LaSOT v2), all off by default so that the recipe stays the
measured one until an ablation says otherwise:
- ``long_gap_fraction``: that fraction of positive pairs takes its search frame anywhere in the video, beyond
  ``frame_range`` (the target's scale, light, pose and occlusion drift over a long video);
- ``distractor_fraction``: that fraction of positive pairs takes a search frame in which a look-alike (a near-twin
  or a same-category distractor, from mini-LaSOT's ``meta/<video>.json``) lies inside the search crop;
- ``template_degradation``: that fraction of pairs gets a poor template (blurred, dark, small or partly occluded),
  drawn from its own stream ``[seed, epoch, index, DEGRADATION_STREAM]``, so every network compared on the same
  seed sees the same degraded templates whatever its other settings.
"""
from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass
from typing import Iterator, Sequence as SequenceType

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from vlt_mini.profiles import PAPER_CROP_SIZES, crop_sizes, profile_settings
from vlt_mini.data.crops import CONTEXT_AMOUNT, CropWindow, context_side, crop, search_window, template_window
from vlt_mini.data.registry import Dataset

PAPER_TEMPLATE, PAPER_SEARCH = PAPER_CROP_SIZES
DEGRADATIONS = ("blur", "dark", "small", "occluded")
DEGRADATION_STREAM = 7          # the template degradation's own random stream (see the module docstring)
LOOK_ALIKE_ROLES = ("twin", "same_category")
LEGACY_PAIR_FIELDS = {"per_axis_scale": False}  # what a saved config without the field (before issue 13) meant


@dataclass
class PairConfig:
    """How pairs are drawn and augmented; shifts are in crop pixels of this config's crop sizes."""

    template_size: int = PAPER_TEMPLATE
    search_size: int = PAPER_SEARCH
    context: float = CONTEXT_AMOUNT
    frame_range: int = 100              # largest gap between the template and the search frame
    template_shift: float = 4.0         # ± crop pixels
    template_scale: float = 0.05        # ± fraction of the window side
    search_shift: float = 64.0
    search_scale: float = 0.18
    per_axis_scale: bool = True         # x and y scale jittered independently (pysot); False: one scale for both
    brightness: float = 0.1             # ± fraction of 255 added to every channel (no hue change, see above)
    contrast: float = 0.1               # ± fraction, around the crop's mean intensity
    template_blur: float = 0.0          # probability of motion blur
    search_blur: float = 0.2
    max_blur_kernel: int = 45           # pysot's largest blur kernel at 255
    negative_fraction: float = 0.2      # template and search from different videos, labelled negative
    language_fraction: float = 1.0      # of the pairs whose video has a sentence, the fraction that keeps it (Tab. 8a)
    samples_per_epoch: int = 600_000    # pairs per epoch (pysot's VIDEOS_PER_EPOCH)
    long_gap_fraction: float = 0.0      # positive pairs whose search frame may be anywhere in the video
    distractor_fraction: float = 0.0    # positive pairs with a look-alike inside the search crop (where known)
    template_degradation: float = 0.0   # pairs with a blurred / dark / small / partly occluded template

    def __post_init__(self) -> None:
        problems = []
        if self.template_size < 8 or self.search_size <= self.template_size:
            problems.append(f"need 8 <= template_size < search_size, got {self.template_size}, {self.search_size}")
        if self.frame_range < 0:
            problems.append(f"frame_range must be >= 0, got {self.frame_range}")
        if not 0 <= self.template_shift < self.template_size / 2 or not 0 <= self.search_shift < self.search_size / 2:
            problems.append("shifts must be >= 0 and less than half the crop size")
        for name in ("template_scale", "search_scale", "brightness", "contrast"):
            if not 0.0 <= getattr(self, name) < 1.0:
                problems.append(f"{name} must lie in [0, 1), got {getattr(self, name)}")
        for name in ("template_blur", "search_blur", "negative_fraction", "language_fraction", "long_gap_fraction",
                     "distractor_fraction", "template_degradation"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} is a probability, got {getattr(self, name)}")
        if self.max_blur_kernel < 3:
            problems.append(f"max_blur_kernel must be >= 3, got {self.max_blur_kernel}")
        if self.samples_per_epoch < 1 or self.context < 0:
            problems.append("samples_per_epoch must be >= 1 and context >= 0")
        if problems:
            raise ValueError("PairConfig: " + "; ".join(problems))

    @classmethod
    def for_profile(cls, profile: str, **overrides) -> "PairConfig":
        """Crop sizes of the profile's network; shifts and blur kernels scale with the crops (paper values at 255)."""
        template, search = crop_sizes(profile)
        t, s = template / PAPER_TEMPLATE, search / PAPER_SEARCH
        config = cls(template_size=template, search_size=search, template_shift=4.0 * t, search_shift=64.0 * s,
                     max_blur_kernel=max(3, int(round(45 * s))), **profile_settings(profile, "pairs"))
        return dataclasses.replace(config, **overrides)


@dataclass
class PairSource:
    """One dataset split to draw pairs from, with its weight among the sources (pysot's NUM_USE)."""

    dataset: Dataset
    weight: float = 1.0


@dataclass
class SentenceTable:
    """Sentence -> row of ``embeddings`` (n, d): computed once in the main process, so workers never load BERT."""

    index: dict[str, int]
    embeddings: torch.Tensor

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    @classmethod
    def from_sources(cls, sources: SequenceType[PairSource], encoder) -> "SentenceTable":
        """Encode every distinct sentence of the sources with a ``TextEncoder`` (its disk cache makes reruns free)."""
        sentences = sorted({s.sentence.strip() for source in sources for s in source.dataset
                            if s.sentence and s.sentence.strip()})
        embeddings = encoder.encode(sentences).embeddings.float().cpu() if sentences else torch.zeros(0, encoder.dim)
        return cls({sentence: row for row, sentence in enumerate(sentences)}, embeddings)


@dataclass
class _Video:
    sequence: object
    frames: np.ndarray   # indices of frames with a visible target of positive size
    source: int
    look_alike_frames: np.ndarray | None = None  # usable frames with a look-alike inside the search crop


def look_alike_boxes(root, name: str) -> list[list[list[float] | None]] | None:
    """Per look-alike distractor (near-twin, same category) of a mini-LaSOT video, its per-frame box (x, y, w, h in
    the ground truth's convention, None where not drawn), from ``<root>/meta/<name>.json``; None without meta."""
    from pathlib import Path

    path = Path(root) / "meta" / f"{name}.json"
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        roles = [spec["role"] for spec in meta["distractors"]]
        return [boxes for role, boxes in zip(roles, meta["distractor_boxes"]) if role in LOOK_ALIKE_ROLES]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a mini-LaSOT meta file ({error})") from None


def frames_with_look_alike(sequence, frames: np.ndarray, boxes: list, config: "PairConfig") -> np.ndarray:
    """The frames among ``frames`` in which a look-alike's centre lies within the central 70 % of the search crop
    around the target (so that it stays inside whatever the shift jitter)."""
    chosen = []
    for frame in frames:
        x, y, w, h = sequence.ground_truth[frame]
        side = context_side(w, h, config.context) * config.search_size / config.template_size
        for per_frame in boxes:
            other = per_frame[frame] if frame < len(per_frame) else None
            if other is None:
                continue
            ox, oy = other[0] + other[2] / 2, other[1] + other[3] / 2
            if max(abs(ox - x - w / 2), abs(oy - y - h / 2)) < 0.35 * side:
                chosen.append(frame)
                break
    return np.array(chosen, dtype=np.int64)


def _usable_frames(sequence) -> np.ndarray:
    boxes = sequence.ground_truth
    ok = sequence.visible & (boxes[:, 2] > 0) & (boxes[:, 3] > 0) & np.isfinite(boxes).all(axis=1)
    return np.flatnonzero(ok)


class PairDataset(torch.utils.data.Dataset):
    """Training pairs; item ``epoch · samples_per_epoch + i`` is ``sample(epoch, i)``.

    Each item is a dict: ``z`` (3, T, T) and ``x`` (3, S, S) float32 BGR 0–255; ``z_box`` (4,) the target's
    x1, y1, x2, y2 in the template crop; ``x_box`` (4,) the box, clipped to the crop, of the object the search crop
    was cut around (the template's target, or for a negative pair another video's target); ``is_negative``;
    ``f_l`` (d,) the sentence embedding (zeros without a sentence); ``has_sentence``; and where it came from
    (``template_video``, ``search_video``, ``template_frame``, ``search_frame``).
    """

    def __init__(self, sources: SequenceType[PairSource], config: PairConfig, sentences: SentenceTable | None = None,
                 language_dim: int | None = None, seed: int = 0) -> None:
        if not sources:
            raise ValueError("PairDataset needs at least one source dataset")
        self.config, self.seed, self.sentences = config, int(seed), sentences
        if sentences is not None and language_dim is not None and sentences.dim != language_dim:
            raise ValueError(f"sentence embeddings are {sentences.dim}-d but language_dim is {language_dim}")
        self.language_dim = sentences.dim if sentences is not None else int(language_dim or 0)
        self.videos: list[list[_Video]] = []
        for number, source in enumerate(sources):
            if not source.weight > 0:
                raise ValueError(f"source {source.dataset.name} {source.dataset.split}: weight must be > 0, "
                                 f"got {source.weight}")
            videos = [_Video(s, _usable_frames(s), number) for s in source.dataset if s.has_frames]
            videos = [v for v in videos if len(v.frames)]
            if config.distractor_fraction > 0:
                for video in videos:
                    boxes = look_alike_boxes(source.dataset.root, video.sequence.name)
                    if boxes:
                        video.look_alike_frames = frames_with_look_alike(video.sequence, video.frames, boxes, config)
            if not videos:
                raise ValueError(f"source {source.dataset.name} {source.dataset.split} ({source.dataset.root}) has no "
                                 "video with frames and a visible target")
            self.videos.append(videos)
        weights = np.array([s.weight for s in sources], dtype=np.float64)
        self.source_probabilities = weights / weights.sum()
        if config.negative_fraction > 0 and len({id(v.sequence) for videos in self.videos for v in videos}) < 2:
            raise ValueError("negative pairs need at least two videos; set pairs.negative_fraction=0")

    def __len__(self) -> int:
        return self.config.samples_per_epoch

    def __getitem__(self, index: int) -> dict:
        epoch, position = divmod(int(index), self.config.samples_per_epoch)
        return self.sample(epoch, position)

    # ------------------------------------------------------------------ drawing
    def _draw_video(self, rng: np.random.Generator) -> _Video:
        source = int(rng.choice(len(self.videos), p=self.source_probabilities))
        return self.videos[source][int(rng.integers(len(self.videos[source])))]

    def sample(self, epoch: int, index: int) -> dict:
        """Pair ``index`` of ``epoch``: a function of (seed, epoch, index) only."""
        config = self.config
        rng = np.random.default_rng([self.seed, int(epoch), int(index)])
        video = self._draw_video(rng)
        negative = bool(rng.random() < config.negative_fraction)
        template_frame = int(rng.choice(video.frames))
        if negative:  # pysot: the search crop around a random target of a random video (here: another video)
            other = self._draw_video(rng)
            while other.sequence is video.sequence:
                other = self._draw_video(rng)
            search_video, search_frame = other, int(rng.choice(other.frames))
        else:
            search_video, search_frame = video, self._search_frame(video, template_frame, rng)
        template_box = video.sequence.ground_truth[template_frame]
        search_box = search_video.sequence.ground_truth[search_frame]

        z_window = _jitter(template_window(template_box, config.template_size, config.context),
                           config.template_shift, config.template_scale, rng, config.per_axis_scale)
        x_window = _jitter(search_window(_centre(search_box), search_box[2:], config.template_size, config.search_size,
                                         config.context), config.search_shift, config.search_scale, rng,
                           config.per_axis_scale)
        z = _augment(crop(video.sequence.frame(template_frame), z_window), config.template_blur, config, rng)
        x = _augment(crop(search_video.sequence.frame(search_frame), x_window), config.search_blur, config, rng)
        degradation = None
        if config.template_degradation > 0:
            z, degradation = degrade_template(z, z_window.frame_to_crop(template_box), config.template_degradation,
                                              np.random.default_rng([self.seed, int(epoch), int(index),
                                                                     DEGRADATION_STREAM]))

        sentence = (video.sequence.sentence or "").strip()
        has_sentence = bool(sentence) and bool(rng.random() < config.language_fraction)
        f_l = torch.zeros(self.language_dim)
        if has_sentence and self.sentences is not None:
            if sentence not in self.sentences.index:
                raise KeyError(f"sentence of {video.sequence.name!r} missing from the sentence table: {sentence!r}")
            f_l = self.sentences.embeddings[self.sentences.index[sentence]].clone()
        return {
            "z": torch.from_numpy(np.ascontiguousarray(z.transpose(2, 0, 1))),  # (3, T, T)
            "x": torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))),  # (3, S, S)
            "z_box": torch.from_numpy(_clip_box(z_window.frame_to_crop(template_box), config.template_size)),
            "x_box": torch.from_numpy(_clip_box(x_window.frame_to_crop(search_box), config.search_size)),
            "is_negative": torch.tensor(negative),
            "f_l": f_l,
            "has_sentence": torch.tensor(has_sentence),
            "template_video": video.sequence.name,
            "search_video": search_video.sequence.name,
            "template_frame": template_frame,
            "search_frame": search_frame,
            "template_degradation": degradation or "",
        }

    def _search_frame(self, video: _Video, template_frame: int, rng: np.random.Generator) -> int:
        """The search frame of a positive pair: near the template (``frame_range``), or, for the configured
        fractions, anywhere in the video or where a look-alike is inside the crop. Draws nothing extra when the
        fractions are 0, so the default pairs are those of the plain sampler."""
        config = self.config
        if config.distractor_fraction > 0 and rng.random() < config.distractor_fraction:
            candidates = video.look_alike_frames
            if candidates is not None and len(candidates):
                near = candidates[np.abs(candidates - template_frame) <= config.frame_range]
                return int(rng.choice(near if len(near) else candidates))
        if config.long_gap_fraction > 0 and rng.random() < config.long_gap_fraction:
            return int(rng.choice(video.frames))
        near = video.frames[np.abs(video.frames - template_frame) <= config.frame_range]
        return int(rng.choice(near))


# ---------------------------------------------------------------------------------------------- augmentation
def _centre(box) -> tuple[float, float]:
    return float(box[0] + box[2] / 2), float(box[1] + box[3] / 2)


def _jitter(window: CropWindow, shift: float, scale: float, rng: np.random.Generator,
            per_axis: bool = True) -> CropWindow:
    """pysot ``_shift_scale_aug``: the window's width and height times 1 ± scale (drawn independently with
    ``per_axis``, else one factor for both), then the target moved by ± shift crop pixels."""
    factors = 1.0 + scale * rng.uniform(-1, 1, size=2 if per_axis else 1)
    side_x = window.side * float(factors[0])
    side_y = window.side * float(factors[-1])
    dx, dy = shift * rng.uniform(-1, 1, size=2)
    # moving the window by -d shows the target d crop pixels away from the centre
    return CropWindow(window.cx - dx * side_x / window.size, window.cy - dy * side_y / window.size, side_x,
                      window.size, side_y if per_axis else None)


def _motion_blur_kernel(rng: np.random.Generator, largest: int) -> np.ndarray:
    """pysot ``_blur_aug``: a cross of a random odd size, horizontal and vertical weights summing to one."""
    size = int(rng.choice(np.arange(3 if largest < 5 else 5, largest + 1, 2)))
    kernel = np.zeros((size, size), dtype=np.float32)
    centre, weight_x = size // 2, rng.random()
    kernel[:, centre] += weight_x / size
    kernel[centre, :] += (1 - weight_x) / size
    return kernel


def _augment(image: np.ndarray, blur_probability: float, config: PairConfig, rng: np.random.Generator) -> np.ndarray:
    """Brightness / contrast jitter (no hue change: sentences name colours) and optional motion blur -> float32."""
    image = image.astype(np.float32)
    if rng.random() < blur_probability:
        image = cv2.filter2D(image, -1, _motion_blur_kernel(rng, config.max_blur_kernel))
    contrast = 1.0 + config.contrast * rng.uniform(-1, 1)
    brightness = 255.0 * config.brightness * rng.uniform(-1, 1)
    mean = float(image.mean())
    return np.clip((image - mean) * contrast + mean + brightness, 0.0, 255.0).astype(np.float32)


def degrade_template(image: np.ndarray, box: np.ndarray, probability: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, str | None]:
    """With ``probability``, one of ``DEGRADATIONS`` applied to a template crop (float32, target box x1, y1, x2, y2
    in crop pixels): out of focus, in the dark, low resolution, or 30-55 % of the target hidden from one side.
    Returns the image and the degradation's name (None when untouched)."""
    if rng.random() >= probability:
        return image, None
    kind = DEGRADATIONS[int(rng.integers(len(DEGRADATIONS)))]
    size = image.shape[0]
    if kind == "blur":
        sigma = rng.uniform(0.02, 0.04) * size
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    elif kind == "dark":
        image = image * np.float32(rng.uniform(0.2, 0.4))
    elif kind == "small":
        side = max(4, int(round(size * rng.uniform(0.2, 0.4))))
        image = cv2.resize(cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA), (size, size),
                           interpolation=cv2.INTER_LINEAR)
    else:
        x1, y1, x2, y2 = np.clip(box, 0, size - 1)
        image = image.copy()
        fraction, side = rng.uniform(0.3, 0.55), int(rng.integers(4))
        grey = np.float32(rng.uniform(60, 200))
        if side == 0:
            image[:, :int(np.ceil(x1 + fraction * (x2 - x1)))] = grey
        elif side == 1:
            image[:, int(np.floor(x2 - fraction * (x2 - x1))):] = grey
        elif side == 2:
            image[:int(np.ceil(y1 + fraction * (y2 - y1)))] = grey
        else:
            image[int(np.floor(y2 - fraction * (y2 - y1))):] = grey
    return np.ascontiguousarray(image, dtype=np.float32), kind


def _clip_box(box: np.ndarray, size: int) -> np.ndarray:
    return np.clip(box, 0.0, size - 1.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------- loading
class PairSampler(Sampler[int]):
    """The item numbers of iterations ``[start_iteration, total_iterations)`` for one of ``world_size`` processes.

    Iteration k of epoch e = k // iterations_per_epoch holds pairs ``j·B .. j·B + B − 1`` of that epoch
    (j = k mod iterations_per_epoch, B the global batch); rank r takes its contiguous ``B / world_size`` slice.
    Starting at ``start_iteration`` resumes the data exactly where a checkpoint left it.
    """

    def __init__(self, samples_per_epoch: int, batch_size: int, total_iterations: int, start_iteration: int = 0,
                 rank: int = 0, world_size: int = 1) -> None:
        if batch_size % world_size:
            raise ValueError(f"the batch size {batch_size} must be divisible by the number of processes {world_size}")
        if samples_per_epoch < batch_size:
            raise ValueError(f"samples_per_epoch ({samples_per_epoch}) must be at least the batch size ({batch_size})")
        self.samples_per_epoch, self.batch_size = samples_per_epoch, batch_size
        self.iterations_per_epoch = samples_per_epoch // batch_size
        self.start, self.stop = start_iteration, total_iterations
        self.local_batch = batch_size // world_size
        self.offset = rank * self.local_batch

    def __iter__(self) -> Iterator[int]:
        for iteration in range(self.start, self.stop):
            epoch, step = divmod(iteration, self.iterations_per_epoch)
            first = epoch * self.samples_per_epoch + step * self.batch_size + self.offset
            yield from range(first, first + self.local_batch)

    def __len__(self) -> int:
        return max(0, self.stop - self.start) * self.local_batch


def seed_worker(worker_id: int) -> None:
    """Seed the global generators of a loader worker from its torch seed (pairs use their own generator)."""
    seed = torch.utils.data.get_worker_info().seed % 2**32
    np.random.seed(seed)
    random.seed(seed)


def make_pair_loader(dataset: PairDataset, batch_size: int, total_iterations: int, start_iteration: int = 0,
                     num_workers: int = 0, rank: int = 0, world_size: int = 1, pin_memory: bool = False) -> DataLoader:
    """A DataLoader whose k-th batch is this process's share of iteration ``start_iteration + k``.

    With workers, OpenCV is made single-threaded in this process first (as pysot does): its thread pool does not
    survive ``fork``, and a worker touching the inherited pool deadlocks.
    """
    if num_workers:
        cv2.setNumThreads(0)
    sampler = PairSampler(dataset.config.samples_per_epoch, batch_size, total_iterations, start_iteration, rank,
                          world_size)
    return DataLoader(dataset, batch_size=sampler.local_batch, sampler=sampler, num_workers=num_workers,
                      worker_init_fn=seed_worker if num_workers else None, pin_memory=pin_memory,
                      persistent_workers=False, prefetch_factor=4 if num_workers else None)
