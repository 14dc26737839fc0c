"""``run_search`` (the library side of ``vlt-mini search``): a trained supernet, a dataset -> the evolutionary search.

``prepare_search`` builds the pieces (the supernet, the fitness on the validation videos with BN recalibration batches
from the training split, the budget), so that a notebook can also score single candidates, with and without
recalibration. Trailing ``key=value`` overrides set fields of ``SearchConfig`` (``vlt_mini.search.evolution``).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from vlt_mini.search.evolution import FitnessEvaluator, SearchConfig

CACHE_LIMIT_BYTES = 1 << 30  # recalibration batches are kept in memory below this size (the same ones every time)


class SearchSetup(NamedTuple):
    model: object          # the supernet (VLTNet, eval mode, on the device)
    evaluator: "FitnessEvaluator"
    budget: object         # CandidateBudget
    info: dict             # what the search ran on (stored in its config and summary)


def load_supernet(path: str | Path, device="cpu"):
    """A checkpoint of a ``vlt-mini train --model supernet`` run -> (VLTNet in eval mode, checkpoint dict); any other
    kind of checkpoint is refused with a message naming the file."""
    from vlt_mini.models.vlt import load_vlt_checkpoint

    model, data = load_vlt_checkpoint(path, kinds=("supernet",), purpose="the search")
    if not model.config.use_modamixer:
        raise ValueError(f"{path}: a supernet checkpoint without ModaMixer; train one with "
                         "`vlt-mini train --model supernet`")
    return model.to(device).eval(), data


def recalibration_batches(model, text_encoder, dataset: str, root, config: SearchConfig):
    """``config.bn_batches`` batches of training pairs, the same for every candidate (seeded by ``config.seed``);
    held in memory when small, else a loader that redraws the same pairs each time."""
    import dataclasses

    from vlt_mini.data import open_dataset
    from vlt_mini.training.pairs import PairConfig, PairDataset, PairSource, SentenceTable, make_pair_loader

    if config.bn_batches == 0:
        return None
    sources = [PairSource(open_dataset(dataset, root, "train"))]
    pairs = PairConfig.for_profile(model.config.profile)
    if (pairs.template_size, pairs.search_size) != (model.config.template_size, model.config.search_size):
        raise ValueError(f"the supernet's crops {model.config.template_size}/{model.config.search_size} are not its "
                         f"profile's ({pairs.template_size}/{pairs.search_size})")
    total = config.bn_batches * config.bn_batch_size
    pairs = dataclasses.replace(pairs, samples_per_epoch=max(pairs.samples_per_epoch, total))
    sentences = SentenceTable.from_sources(sources, text_encoder)
    pair_dataset = PairDataset(sources, pairs, sentences, model.config.language_dim, config.seed)
    loader = make_pair_loader(pair_dataset, config.bn_batch_size, config.bn_batches)
    if total * 3 * (pairs.template_size ** 2 + pairs.search_size ** 2) * 4 > CACHE_LIMIT_BYTES:
        return loader
    keys = ("z", "x", "f_l", "has_sentence", "z_box")
    return [{k: batch[k] for k in keys} for batch in loader]


def prepare_search(supernet: str | Path, dataset: str, root, config: SearchConfig, device: str = "auto",
                   text_encoder=None, text_model: str | None = None) -> SearchSetup:
    """Load the supernet and build the fitness (``config.num_videos`` videos of ``config.split``, truncated to
    ``config.max_frames``, BN recalibration on the training split) and the budget."""
    import torch

    from vlt_mini.arguments import resolve_device
    from vlt_mini.data import open_dataset
    from vlt_mini.search.evolution import FitnessEvaluator, truncate
    from vlt_mini.tracking.presets import PRESETS
    from vlt_mini.tracking.provenance import file_digest
    from vlt_mini.training.budget import CandidateBudget

    device = torch.device(resolve_device(device))
    model, data = load_supernet(supernet, device)
    if text_encoder is None:
        from vlt_mini.models.text_encoder import TextEncoder, checkpoint_text_model

        text_encoder = TextEncoder(model=checkpoint_text_model(data, str(supernet), text_model))
    if text_encoder.dim != model.config.language_dim:
        raise ValueError(f"{supernet}: the network expects {model.config.language_dim}-d language embeddings but the "
                         f"text encoder gives {text_encoder.dim}-d")
    videos = [truncate(video, config.max_frames) for video in list(open_dataset(dataset, root, config.split))]
    videos = videos[:config.num_videos]
    preset = config.tracker_preset or (dataset if dataset in PRESETS else "lasot")
    if preset not in PRESETS:
        raise ValueError(f"unknown tracker preset {preset!r}; choose one of {', '.join(PRESETS)}")
    batches = recalibration_batches(model, text_encoder, dataset, root, config)
    evaluator = FitnessEvaluator(model, text_encoder, videos, batches, preset, device)
    info = {"supernet": str(Path(supernet).resolve()), "supernet_sha256": file_digest(supernet),
            "supernet_profile": model.config.profile, "dataset": dataset,
            "videos": [v.name for v in videos], "frames": sum(len(v) for v in videos), "tracker_preset": preset}
    return SearchSetup(model, evaluator, CandidateBudget(model, config.max_parameters, config.max_macs), info)


def check_output_folder(out_dir: str | Path, resume: bool) -> None:
    """A search folder: writable (checked before any work), and holding no other search unless resuming."""
    from vlt_mini.io import check_output_folder as check_writable
    from vlt_mini.search.evolution import LOG_NAME

    check_writable(out_dir, create=False)
    if (Path(out_dir) / LOG_NAME).is_file() and not resume:
        raise ValueError(f"{out_dir} already holds a search ({LOG_NAME}); pass --resume to continue it or choose "
                         "another --out")


def run_search(supernet: str | Path, dataset: str, root, out_dir: str | Path, config: SearchConfig,
               resume: bool = False, device: str = "auto", progress: bool = True, text_encoder=None,
               text_model: str | None = None) -> dict:
    """The whole search; returns its summary (``search_summary.json``). Files: see ``vlt_mini.search.evolution``."""
    from vlt_mini.search.evolution import EvolutionarySearch

    config.check()
    check_output_folder(out_dir, resume)
    setup = prepare_search(supernet, dataset, root, config, device, text_encoder, text_model)
    return EvolutionarySearch(config, setup.evaluator, out_dir, setup.budget, progress, setup.info).run(resume)
