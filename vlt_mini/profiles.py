"""Every profile in one place: what ``tiny``, ``cpu``, ``colab`` and ``paper`` change, section by section.

The dataclass defaults of each component are the paper's (the official SOTS / SiamCAR / SPOS values; the one
exception is the text model, whose default is the offline MiniLM so that nothing reaches for the network unasked).
A profile lists only what differs from those defaults; each config's ``for_profile(name)`` reads its section here.
The crop sizes are one pair per profile, and every size that depends on them (the head's template, the loss's search
crop, the pair sampler's shifts and blur) is derived from that pair.

- ``tiny``: CI and unit tests, seconds. A quarter of the paper's widths, small crops, 8 training iterations.
- ``cpu``: a laptop, minutes. The same small network, more data and 1000 iterations (about 10 minutes a network).
  Trained from scratch on a CPU the number of iterations matters more than width: on the mini-LaSOT validation split
  half the paper's widths with 95 / 191 crops, 150 iterations (4 min) reached SUC 13.4; this network with
  63 / 127 crops, 1000 iterations (about 10 min), 39.3 (OpenCV MIL: 26.7).
- ``colab``: a free Colab GPU session (a small GPU, 2 CPU cores, about 100 GB of disk, about an hour for all
  notebooks). The ``cpu`` data and network; batches of 64 pairs (4x ``cpu``'s) for the same 1000 iterations, loaded
  by two worker processes; the notebooks' default on a CUDA machine.
- ``paper``: a GPU at the paper's scale (about 12.8 GB of mini-LaSOT): only on request.

``NOTEBOOK_SETTINGS`` holds what the narrative notebooks 04-07 do differently per profile (shorter epochs at
``paper`` so a notebook finishes in a session), so that no notebook branches on the profile's name.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

PROFILES = ("tiny", "cpu", "colab", "paper")
PAPER_CROP_SIZES = (127, 255)  # template, search (pixels); SiamCAR / VLT_SCAR
CROP_SIZES = {"tiny": (63, 127), "cpu": (63, 127), "colab": (63, 127), "paper": PAPER_CROP_SIZES}

_SMALL_NETWORK = dict(stem_channels=8, stage_channels=(16, 40, 80, 160), last_channels=256)
_SMALL_HEAD = dict(width=32, gn_groups=8)
# From scratch with few iterations: AdamW at 0.01 with the backbone at full rate (SiamCAR's SGD recipe is made to
# fine-tune a pretrained backbone; ``benchmarks/bench_training.py --optimizers`` compares the two), and BatchNorm
# statistics re-estimated at the end (the moving averages lag behind weights that move fast; ``training/batchnorm.py``).
# The rate decays to 1e-4, near zero (issue 13; until then 0.002): chosen on the validation split, seed 0, VLT-mini
# SUC 32.2 against 26.6 (``vlt-mini study --split val``; one seed, so a weak choice, and the direction the issue asked).
_SMALL_TRAINING = dict(optimizer="adamw", warmup_epochs=0.5, warmup_start_lr=0.002, base_lr=0.01, end_lr=0.0001,
                       backbone_lr_factor=1.0, num_workers=0)
_TINY_CATEGORIES = ("ball", "star", "car", "heart")
# The ImageNet step at small widths and short budgets: AdamW instead of SPOS's SGD. With affine-free BatchNorm after
# every convolution, SGD's step per layer is lr * |grad| / |w|, which at initialisation spans 300x from the first
# convolution (rotated by radians a step at lr 0.2) to the tail (under 1 %); AdamW moves every layer at about the same
# relative rate (``training/pretrain.py``, module notes). The rate was chosen on held-out rendered images (never on
# tracking data): at ``cpu``, 6000 iterations, 3e-3 reached 4.8 % top-1 (colour 39 %), 1e-2 10.6 % (colour 74 %), and
# 3e-2 stayed at chance (1.5 %).
_SMALL_PRETRAIN = dict(optimizer="adamw", base_lr=0.01, initialisation="pytorch")

SETTINGS: dict[str, dict[str, dict]] = {
    "paper": {
        "text": dict(model="bert-base-uncased"),  # the official code's frozen BERT (768-d), from the hub
    },
    "cpu": {
        "supernet": _SMALL_NETWORK,
        "head": _SMALL_HEAD,
        "pairs": dict(frame_range=60, samples_per_epoch=1600),
        "train": dict(_SMALL_TRAINING, epochs=10, batch_size=16, log_every=20, checkpoint_every=100,
                      bn_recalibration_batches=10),
        # 4 generations of 12 (top 4; 5 mutation + 5 crossover children, 2 random): 48 evaluations. All 20 validation
        # videos cut to 40 frames rather than a few long ones: SUC over more videos is less noisy. Measured (README's
        # cpu pipeline): 48 evaluations in 859 s, 18 s a candidate.
        "search": dict(population=12, top_k=4, generations=4, mutation_children=5, crossover_children=5,
                       num_videos=20, max_frames=40, bn_batches=8, bn_batch_size=16),
        # 90 videos of 160-400 frames (about 25k frames; v1 had 220 of 60-120): fewer, longer videos, as LaSOT's
        "mini_lasot": dict(frame_width=256, frame_height=192, min_frames=160, max_frames=400, train_per_class=4,
                           val_per_class=2, test_per_class=3, min_distractors=2, max_distractors=5,
                           object_size=0.16),
        # the ImageNet step on rendered objects: about 600 s on a core (0.1 s an iteration); held-out top-1 10.6 %,
        # colour 74 %, category 14 % (chance 1 %, 10 %, 10 %)
        "pretrain": dict(_SMALL_PRETRAIN, image_size=64, train_images=10_000, val_images=1_000, iterations=6000,
                         batch_size=64, warmup_iterations=300, log_every=500),
    },
    "colab": {
        "supernet": _SMALL_NETWORK,
        "head": _SMALL_HEAD,
        "pairs": dict(frame_range=60, samples_per_epoch=6400),
        "train": dict(_SMALL_TRAINING, epochs=10, batch_size=64, num_workers=2, log_every=20, checkpoint_every=100,
                      bn_recalibration_batches=10),
    },
    "tiny": {
        "supernet": _SMALL_NETWORK,
        "head": _SMALL_HEAD,
        "pairs": dict(frame_range=30, samples_per_epoch=32),
        "train": dict(_SMALL_TRAINING, epochs=2, batch_size=8, log_every=1, checkpoint_every=1000,
                      bn_recalibration_batches=2),
        "search": dict(population=4, top_k=2, generations=2, mutation_children=2, crossover_children=2,
                       num_videos=2, max_frames=20, bn_batches=1, bn_batch_size=4),
        "mini_lasot": dict(frame_width=160, frame_height=120, min_frames=28, max_frames=40,
                           categories=_TINY_CATEGORIES, train_per_class=2, val_per_class=1, test_per_class=1,
                           min_distractors=2, max_distractors=3, object_size=0.2),
        "pretrain": dict(_SMALL_PRETRAIN, image_size=32, train_images=200, val_images=100, iterations=10,
                         batch_size=8, eval_paths=1, bn_batches=2, log_every=5),
    },
}
# colab keeps cpu's search (tracking-bound: a GPU hardly shortens it) and cpu's mini-LaSOT (90 videos, a few
# hundred MB on disk)
SETTINGS["colab"].update(search=SETTINGS["cpu"]["search"], mini_lasot=SETTINGS["cpu"]["mini_lasot"],
                         pretrain=SETTINGS["cpu"]["pretrain"])
SECTIONS = ("supernet", "head", "pairs", "train", "search", "text", "mini_lasot", "pretrain")


def check_profile(profile: str) -> str:
    """Return ``profile`` if it is a known profile name, else raise a ValueError that lists the choices."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    return profile


def profile_settings(profile: str, section: str) -> dict:
    """The fields ``profile`` sets in one config ``section`` (a fresh copy; empty where it keeps the defaults)."""
    if section not in SECTIONS:
        raise ValueError(f"unknown profile section {section!r}; known: {', '.join(SECTIONS)}")
    return copy.deepcopy(SETTINGS[check_profile(profile)].get(section, {}))


def crop_sizes(profile: str) -> tuple[int, int]:
    """(template, search) crop sides in pixels."""
    return CROP_SIZES[check_profile(profile)]


@dataclass(frozen=True)
class NotebookSettings:
    """What the narrative notebooks (04-07) change per profile; ``notebook_settings(profile)``."""

    training_overrides: tuple[str, ...] = ()   # ``train_model`` overrides of notebooks 04-07's networks
    supernet_overrides: tuple[str, ...] = ()   # ... added for notebook 05's supernet
    search_overrides: dict = field(default_factory=dict)  # SearchConfig fields of notebook 05's search
    recompute_ablation: bool = False           # notebook 07 recomputes Table 5c (else it reads the committed one)


NOTEBOOK_SETTINGS = {
    "tiny": NotebookSettings(recompute_ablation=True),
    "cpu": NotebookSettings(),
    "colab": NotebookSettings(),
    # The paper's 600k pairs per epoch take a day: the notebooks train 20 epochs of 12.8k pairs (about an hour on a
    # GPU), the supernet 10 of them, and search 5 generations; the CLI runs the full recipe.
    "paper": NotebookSettings(training_overrides=("pairs.samples_per_epoch=12800",),
                              supernet_overrides=("train.epochs=10",), search_overrides={"generations": 5}),
}


def notebook_settings(profile: str) -> NotebookSettings:
    return NOTEBOOK_SETTINGS[check_profile(profile)]
