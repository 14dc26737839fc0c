"""``vlt-mini search`` and its Python twin ``run_search``: a trained supernet, a dataset -> the evolutionary search.

    vlt-mini search --supernet runs/supernet/model_final.pt --dataset mini-lasot --root data/mini-lasot-cpu-seed0 \\
        --profile cpu --out runs/search [--symmetric] [--resume] [--seed N] [population=12 max_frames=60 ...]

``prepare_search`` builds the pieces (the supernet, the fitness on the validation videos with BN recalibration batches
from the training split, the budget), so that a notebook can also score single candidates, with and without
recalibration. Trailing ``key=value`` overrides set fields of ``SearchConfig`` (``vlt_mini.search.evolution``).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from vlt_mini.config import PROFILES

if TYPE_CHECKING:  # the command line imports this module to build its parser: torch is imported only when used
    from vlt_mini.search.evolution import FitnessEvaluator, SearchConfig

CACHE_LIMIT_BYTES = 1 << 30  # recalibration batches are kept in memory below this size (the same ones every time)


class SearchSetup(NamedTuple):
    model: object          # the supernet (VLTNet, eval mode, on the device)
    evaluator: "FitnessEvaluator"
    budget: object         # CandidateBudget
    info: dict             # what the search ran on (stored in its config and summary)


def load_supernet(path: str | Path, device="cpu"):
    """A checkpoint of a ``vlt-mini train --model supernet`` run -> (VLTNet in eval mode, checkpoint dict)."""
    from vlt_mini.models.vlt import load_vlt_checkpoint

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"supernet checkpoint not found: {path}")
    model, data = load_vlt_checkpoint(path)
    if data.get("kind") != "supernet" or not model.config.use_modamixer:
        raise ValueError(f"{path}: a checkpoint of a '--model {data.get('kind', '?')}' run, not of the supernet; "
                         "train one with `vlt-mini train --model supernet`")
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
                   text_encoder=None) -> SearchSetup:
    """Load the supernet and build the fitness (``config.num_videos`` videos of ``config.split``, truncated to
    ``config.max_frames``, BN recalibration on the training split) and the budget."""
    import torch

    from vlt_mini.data import open_dataset
    from vlt_mini.search.evolution import FitnessEvaluator, truncate
    from vlt_mini.tracking.tracker import PRESETS
    from vlt_mini.training.budget import CandidateBudget

    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device)
    model, data = load_supernet(supernet, device)
    if text_encoder is None:
        from vlt_mini.models.text_encoder import TextEncoder

        text_encoder = TextEncoder(model=data.get("text_model", "minilm"))
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
    info = {"supernet": str(Path(supernet).resolve()), "supernet_profile": model.config.profile, "dataset": dataset,
            "videos": [v.name for v in videos], "frames": sum(len(v) for v in videos), "tracker_preset": preset}
    return SearchSetup(model, evaluator, CandidateBudget(model, config.max_parameters, config.max_macs), info)


def check_output_folder(out_dir: str | Path, resume: bool) -> None:
    from vlt_mini.search.evolution import LOG_NAME

    if (Path(out_dir) / LOG_NAME).is_file() and not resume:
        raise ValueError(f"{out_dir} already holds a search ({LOG_NAME}); pass --resume to continue it or choose "
                         "another --out")


def run_search(supernet: str | Path, dataset: str, root, out_dir: str | Path, config: SearchConfig,
               resume: bool = False, device: str = "auto", progress: bool = True, text_encoder=None) -> dict:
    """The whole search; returns its summary (``search_summary.json``). Files: see ``vlt_mini.search.evolution``."""
    from vlt_mini.search.evolution import EvolutionarySearch

    config.check()
    check_output_folder(out_dir, resume)
    setup = prepare_search(supernet, dataset, root, config, device, text_encoder)
    return EvolutionarySearch(config, setup.evaluator, out_dir, setup.budget, progress, setup.info).run(resume)


# ------------------------------------------------------------------------------------------- command line
def add_search_parser(subparsers) -> None:
    from vlt_mini.data.registry import DATASETS

    parser = subparsers.add_parser(
        "search", help="evolutionary search of a VLT candidate in a trained supernet (SUC on validation videos)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--supernet", required=True, type=Path, help="checkpoint of a `vlt-mini train --model "
                        "supernet` run (model_final.pt or checkpoint_last.pt)")
    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS), help="dataset: validation videos for "
                        "the fitness, its train split for BN recalibration")
    parser.add_argument("--root", type=Path, default=None, help="dataset root (else the environment variable)")
    parser.add_argument("--split", default=None, help="fitness split (default val; test is refused)")
    parser.add_argument("--profile", default="tiny", choices=PROFILES, help="search size (population, generations, "
                        "videos)")
    parser.add_argument("--out", required=True, type=Path, help="search folder: log, top candidates, summary, plot")
    parser.add_argument("--symmetric", action="store_true", help="one path and mixer ops for both branches (Tab. 5a)")
    parser.add_argument("--resume", action="store_true", help="continue the search in --out from its log")
    parser.add_argument("--seed", type=int, default=None, help="random seed (sets seed)")
    parser.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda or cuda:N")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="SearchConfig overrides: population=12 generations=5 max_frames=60 bn_batches=0")


def command_search(args) -> None:
    from vlt_mini.config import apply_overrides
    from vlt_mini.search.evolution import SearchConfig

    overrides = list(args.overrides)
    overrides += [f"split={args.split}"] if args.split is not None else []
    overrides += [f"seed={args.seed}"] if args.seed is not None else []
    overrides += ["symmetric=true"] if args.symmetric else []
    config = apply_overrides(SearchConfig.for_profile(args.profile), overrides)
    summary = run_search(args.supernet, args.dataset, args.root, args.out, config, resume=args.resume,
                         device=args.device, progress=not args.no_progress)
    best = summary["best"]
    print(f"searched {summary['evaluations']} candidates ({summary['reused_from_log']} read back from the log) on "
          f"{len(summary['videos'])} {config.split} videos; best fitness (SUC) {best['fitness']:.2f} in generation "
          f"{best['generation']}; {args.out / 'best_candidate.json'}")
