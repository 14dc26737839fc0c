"""One trainer for the vision-only SiamCAR baseline, a VLT candidate, and the VLT supernet (paper Sec. 3, Eq. 2;
docs/official_code.md).

References: pysot / SiamCAR ``tools/train.py`` (SGD, momentum 0.9, weight decay 1e-4, backbone at 0.1× the learning
rate, gradient clipping at 10) and ``pysot/utils/lr_scheduler.py`` (warm-up 0.001 -> 0.005 over 5 epochs, then a log
decay 0.005 -> 0.0005; here interpolated per iteration); SPOS / VLT Eq. 2 for the supernet: a fresh, uniformly
drawn candidate every iteration (template path, search path and mixer ops), the same on every process.

Model kinds: ``siamcar`` = the network without ModaMixer on the candidate's backbone paths (default: the official
VLT_SCAR paths, so the baseline differs from VLT only by language); ``vlt`` = the candidate with ModaMixer;
``supernet`` = every path trained. Files in ``out_dir``: ``config.json``, ``metrics.jsonl`` (appended as training
goes), ``checkpoint_last.pt`` (every ``checkpoint_every`` iterations and at each epoch end), and at the end
``model_final.pt``, ``loss_curves.png`` and ``train_summary.json``.
"""
from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from vlt_mini.config import check_profile, config_to_dict
from vlt_mini.profiles import profile_settings
from vlt_mini.io import atomic_torch_save, atomic_write_text
from vlt_mini.models.losses import LossConfig, siamcar_loss
from vlt_mini.models.candidate import VLT_SCAR_CANDIDATE, Candidate
from vlt_mini.models.vlt import LEGACY_HEAD_FIELDS, LEGACY_MODEL_FIELDS, VLTConfig, VLTNet, model_checkpoint
from vlt_mini.training.budget import CandidateBudget
from vlt_mini.training.cpu_parallel import ShardedStep, keep_freed_memory, split_batch
from vlt_mini.training.checkpoints import (CHECKPOINT_NAME, FINAL_MODEL_NAME, load_training_checkpoint,
                                           restore_rng_state, save_training_checkpoint)
from vlt_mini.training.distributed import DistributedContext, resolve_device
from vlt_mini.models.kinds import MODEL_KINDS
from vlt_mini.training.pairs import (LEGACY_PAIR_FIELDS, PairConfig, PairDataset, PairSource, SentenceTable,
                                    make_pair_loader)

OPTIMIZERS = ("sgd", "adamw")
LOSS_PARTS = ("total", "cls", "box", "cen")
RESUME_FREE_FIELDS = ("num_workers", "log_every", "checkpoint_every")  # may change on resume: results stay the same
LEGACY_TRAIN_FIELDS = {"cpu_shards": 1}  # train settings added since runs were recorded: what those runs did
# Also free on resume: the dataset roots (data may move) and the number of processes (the global batch is the same).


class TrainingDiverged(RuntimeError):
    """A loss or the gradient became NaN / infinite."""


@dataclass
class TrainConfig:
    """Optimisation settings; ``batch_size`` is the global batch (split over processes under DDP)."""

    epochs: int = 20
    batch_size: int = 64
    optimizer: str = "sgd"       # "sgd" (SiamCAR's) or "adamw" (the small profiles, trained from scratch)
    warmup_epochs: float = 5.0
    warmup_start_lr: float = 0.001
    base_lr: float = 0.005
    end_lr: float = 0.0005
    momentum: float = 0.9
    weight_decay: float = 1e-4
    backbone_lr_factor: float = 0.1
    grad_clip: float = 10.0
    num_workers: int = 8
    amp: bool = True             # float16 autocast + grad scaling, on CUDA only
    channels_last: bool = True   # channels-last (NHWC) tensors on CUDA ...
    channels_last_cpu: bool = True  # ... and on the CPU too (oneDNN's depth-wise convolutions: ~1.3× pairs/s at cpu)
    cpu_shards: int = 1          # CPU: split each batch into this many shards run at once, one core each, BatchNorm
    # per shard as on multi-GPU training without SyncBN (``cpu_parallel.py``); 2 on a 2-core laptop for one training
    log_every: int = 20          # iterations between metrics lines
    checkpoint_every: int = 1000  # iterations; a checkpoint is also written at every epoch end
    seed: int = 0
    supernet_symmetric: bool = False  # supernet: one path for both branches (Tab. 5a)
    max_parameters: int = 0      # supernet: only candidates with at most this many parameters (0: no limit)
    max_macs: int = 0            # supernet: ... at most this many multiply-adds, template + one search (0: no limit)
    backbone_checkpoint: str = ""  # official SPOS ImageNet supernet weights to start the backbone from (paper widths);
    # the ModaMixer blocks then start as copies of their stage's last block (paper; ``initialisation.py``)
    init_checkpoint: str = ""    # or start the whole network from a vlt-mini checkpoint (e.g. a supernet run's)
    bn_recalibration_batches: int = 0  # at the end, re-estimate BatchNorm statistics over this many batches (0: no)
    loss: LossConfig = field(default_factory=LossConfig)

    def __post_init__(self) -> None:
        problems = [f"{name} must be >= 1" for name in ("epochs", "batch_size", "log_every", "checkpoint_every",
                                                        "cpu_shards") if getattr(self, name) < 1]
        if self.cpu_shards > 1 and self.batch_size % self.cpu_shards:
            problems.append(f"batch_size ({self.batch_size}) must be a multiple of cpu_shards ({self.cpu_shards})")
        if not 0 <= self.warmup_epochs < self.epochs:
            problems.append(f"warmup_epochs must lie in [0, epochs), got {self.warmup_epochs}")
        if min(self.warmup_start_lr, self.base_lr, self.end_lr) <= 0 or self.backbone_lr_factor < 0:
            problems.append("learning rates must be > 0 and backbone_lr_factor >= 0")
        counts = (self.num_workers, self.max_parameters, self.max_macs, self.bn_recalibration_batches)
        if min(counts) < 0 or self.grad_clip <= 0:
            problems.append("num_workers, max_parameters, max_macs, bn_recalibration_batches must be >= 0; "
                            "grad_clip > 0")
        if self.backbone_checkpoint and self.init_checkpoint:
            problems.append("give backbone_checkpoint or init_checkpoint, not both")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if problems:
            raise ValueError("TrainConfig: " + "; ".join(problems))

    @classmethod
    def for_profile(cls, profile: str, **overrides) -> "TrainConfig":
        """``tiny``: 8 iterations (CI); ``cpu``: 1000 iterations of 16 pairs (about 10 minutes on a 2-core laptop CPU); ``paper``:
        20 epochs of 600k pairs at batch 64 as SiamCAR (SGD). The small profiles start from scratch (no ImageNet
        backbone) and have few iterations: they use AdamW at 0.01 with the backbone at full rate (SiamCAR's
        SGD recipe is made to fine-tune a pretrained backbone; ``benchmarks/bench_training.py --optimizers`` compares
        the two), and BatchNorm statistics are re-estimated at the end (the moving averages lag behind weights that move fast; see ``batchnorm.py``)."""
        settings = profile_settings(profile, "train")
        return dataclasses.replace(cls(loss=LossConfig.for_profile(profile), **settings), **overrides)


@dataclass
class TrainingSetup:
    """The three configs of a run (``model.*``, ``train.*``, ``pairs.*`` in command-line overrides)."""

    model: VLTConfig
    train: TrainConfig
    pairs: PairConfig

    @classmethod
    def for_profile(cls, profile: str) -> "TrainingSetup":
        return cls(VLTConfig.for_profile(profile), TrainConfig.for_profile(profile), PairConfig.for_profile(profile))


def siamcar_learning_rate(iteration: int, iterations_per_epoch: int, config: TrainConfig) -> float:
    """Warm-up rising geometrically from ``warmup_start_lr`` to ``base_lr``, then a log decay to ``end_lr`` reached
    at the last iteration (pysot's ``WarmUPScheduler(StepScheduler, LogScheduler)``, per iteration)."""
    total = config.epochs * iterations_per_epoch
    warmup = int(round(config.warmup_epochs * iterations_per_epoch))
    if iteration < warmup:
        return config.warmup_start_lr * (config.base_lr / config.warmup_start_lr) ** (iteration / warmup)
    progress = (iteration - warmup) / max(1, total - warmup - 1)
    return config.base_lr * (config.end_lr / config.base_lr) ** min(1.0, progress)


def describe_sources(sources: Sequence[PairSource]) -> list[dict]:
    return [{"dataset": s.dataset.name, "split": s.dataset.split, "root": str(s.dataset.root), "weight": s.weight,
             "videos": len(s.dataset)} for s in sources]


class Trainer:
    """Trains a ``VLTNet`` on template / search pairs; ``train()`` runs (or resumes) to the end of the schedule."""

    def __init__(self, model_kind: str, vlt_config: VLTConfig, train_config: TrainConfig, pair_config: PairConfig,
                 sources: Sequence[PairSource], out_dir: str | Path, candidate: Candidate | None = None,
                 text_model: str = "minilm", device: str = "auto", progress: bool = True, text_encoder=None) -> None:
        if model_kind not in MODEL_KINDS:
            raise ValueError(f"model kind {model_kind!r}: choose one of {', '.join(MODEL_KINDS)}")
        self.kind, self.config, self.pair_config = model_kind, train_config, pair_config
        self.sources, self.out_dir, self.progress = list(sources), Path(out_dir), progress
        self.context = DistributedContext.from_environment()
        self.device = resolve_device(device, self.context)
        self.context.init(self.device)
        self.text_model = text_model
        vlt_config = dataclasses.replace(vlt_config, use_modamixer=model_kind != "siamcar")
        sentences = None
        if vlt_config.use_modamixer:
            sentences = self._sentence_table(text_encoder)
            vlt_config = dataclasses.replace(vlt_config, language_dim=sentences.dim)
        if (pair_config.template_size, pair_config.search_size) != (vlt_config.template_size, vlt_config.search_size):
            raise ValueError(f"pair crops {pair_config.template_size}/{pair_config.search_size} differ from the "
                             f"network's {vlt_config.template_size}/{vlt_config.search_size}")
        self.dataset = PairDataset(self.sources, pair_config, sentences, vlt_config.language_dim, train_config.seed)
        self.iterations_per_epoch = pair_config.samples_per_epoch // train_config.batch_size
        if self.iterations_per_epoch < 1:
            raise ValueError(f"pairs.samples_per_epoch ({pair_config.samples_per_epoch}) is smaller than "
                             f"train.batch_size ({train_config.batch_size})")
        self.total_iterations = train_config.epochs * self.iterations_per_epoch

        torch.manual_seed(train_config.seed)
        self.model = VLTNet(vlt_config, candidate=candidate or VLT_SCAR_CANDIDATE)
        if train_config.backbone_checkpoint:
            from vlt_mini.training.initialisation import initialise_from_spos

            initialise_from_spos(self.model, train_config.backbone_checkpoint)
        elif train_config.init_checkpoint:
            from vlt_mini.training.initialisation import initialise_from_checkpoint

            initialise_from_checkpoint(self.model, train_config.init_checkpoint)
        cuda = self.device.type == "cuda"
        self.model.to(self.device)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        if cuda:
            torch.backends.cudnn.benchmark = True  # fixed crop sizes
        self.loss_config = dataclasses.replace(train_config.loss, search_size=vlt_config.search_size,
                                               stride=vlt_config.head.stride,
                                               location_offset=self.model.score_map_offset(training=True))
        backbone = list(self.model.backbone.parameters())
        backbone_ids = {id(p) for p in backbone}
        others = [p for p in self.model.parameters() if id(p) not in backbone_ids]
        groups = [{"params": backbone, "lr_factor": train_config.backbone_lr_factor},
                  {"params": others, "lr_factor": 1.0}]
        if train_config.optimizer == "sgd":
            self.optimizer = torch.optim.SGD(groups, lr=train_config.base_lr, momentum=train_config.momentum,
                                             weight_decay=train_config.weight_decay)
        else:
            self.optimizer = torch.optim.AdamW(groups, lr=train_config.base_lr, weight_decay=train_config.weight_decay)
        self.use_amp = cuda and train_config.amp
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.use_amp)
        self.budget = CandidateBudget(self.model, train_config.max_parameters, train_config.max_macs)
        self.network = self.model
        if self.context.enabled:
            from torch.nn.parallel import DistributedDataParallel

            # Unused choice blocks (and, per batch, the template token) get no gradient: find_unused_parameters.
            self.network = DistributedDataParallel(self.model, device_ids=[self.device.index] if cuda else None,
                                                   find_unused_parameters=True)
        self.sharded = None
        if train_config.cpu_shards > 1:
            if cuda or self.context.enabled:
                raise ValueError("train.cpu_shards > 1 splits batches over the cores of one CPU process; on GPUs or "
                                 "under torchrun leave it at 1 (each process is already a shard)")
            self.sharded = ShardedStep(self.model, train_config.cpu_shards,
                                       max(1, torch.get_num_threads() // train_config.cpu_shards))
        if self.device.type == "cpu":
            keep_freed_memory()
        self.iteration, self.wall_time = 0, 0.0

    # ------------------------------------------------------------------ set-up helpers
    def _sentence_table(self, text_encoder) -> SentenceTable:
        """Encode every sentence once; under DDP rank 0 first (filling the disk cache), then the others read it."""
        from vlt_mini.models.text_encoder import TextEncoder

        if not self.context.is_main:
            self.context.barrier()
        encoder = text_encoder or TextEncoder(model=self.text_model)
        table = SentenceTable.from_sources(self.sources, encoder)
        if self.context.is_main:
            self.context.barrier()
        return table

    @property
    def channels_last(self) -> bool:
        """Whether the network and its inputs use the channels-last memory format on this device."""
        return self.config.channels_last and (self.device.type == "cuda" or self.config.channels_last_cpu)

    @property
    def epoch(self) -> int:
        return self.iteration // self.iterations_per_epoch

    @property
    def is_main(self) -> bool:
        return self.context.is_main

    def configs(self) -> dict:
        """Everything that defines the run (written to config.json and into checkpoints)."""
        return {"kind": self.kind, "profile": self.model.config.profile, "text_model": self.text_model,
                "candidate": self.model.candidate.to_dict(), "model": config_to_dict(self.model.config),
                "train": config_to_dict(self.config), "pairs": config_to_dict(self.pair_config),
                "loss": config_to_dict(self.loss_config), "sources": describe_sources(self.sources),
                "world_size": self.context.world_size}

    def model_state(self) -> dict:
        return model_checkpoint(self.model, text_model=self.text_model, kind=self.kind,
                                profile=self.model.config.profile)

    # ------------------------------------------------------------------ one iteration
    def learning_rate(self, iteration: int) -> float:
        return siamcar_learning_rate(iteration, self.iterations_per_epoch, self.config)

    def candidate_for(self, iteration: int) -> Candidate:
        """The fixed candidate, or for the supernet a uniform draw seeded by (seed, iteration): the same on every
        process and after a resume."""
        if self.kind != "supernet":
            return self.model.candidate
        rng = random.Random(f"supernet:{self.config.seed}:{iteration}")
        return self.budget.sample(rng, symmetric=self.config.supernet_symmetric)

    def train_step(self, batch: dict, iteration: int) -> dict:
        """Forward, loss, checks, backward, clipping and an optimiser step at ``iteration``'s learning rate."""
        lr = self.learning_rate(iteration)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group["lr_factor"]
        candidate = self.candidate_for(iteration)
        memory = torch.channels_last if self.channels_last else torch.contiguous_format

        def losses_of(network: torch.nn.Module, pairs: dict) -> dict:
            z = pairs["z"].to(self.device, non_blocking=True).contiguous(memory_format=memory)
            x = pairs["x"].to(self.device, non_blocking=True).contiguous(memory_format=memory)
            f_l, has_sentence, z_box = (pairs[k].to(self.device, non_blocking=True)
                                        for k in ("f_l", "has_sentence", "z_box"))
            network.train()
            with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.use_amp):
                output = network(z, x, f_l, has_sentence, z_box, candidate)
            return siamcar_loss(output, pairs["x_box"].to(self.device), pairs["is_negative"].to(self.device),
                                self.loss_config)

        self.optimizer.zero_grad(set_to_none=True)
        if self.sharded is None:
            losses = losses_of(self.network, batch)
            values = self.context.mean(torch.stack([losses[k].detach().float() for k in LOSS_PARTS]))
        else:  # forward and backward of every shard at once; the gradients are their mean
            per_shard = self.sharded.run(split_batch(batch, len(self.sharded.models)), losses_of)
            values = torch.stack([torch.stack([s[k].float() for k in LOSS_PARTS]) for s in per_shard]).mean(0)
        bad = [name for name, value in zip(LOSS_PARTS, values.tolist()) if not math.isfinite(value)]
        if bad:
            self._diverged(iteration, f"loss part(s) {', '.join(bad)} = "
                           + ", ".join(f"{float(values[LOSS_PARTS.index(n)])}" for n in bad))
        if self.sharded is None:
            self.scaler.scale(losses["total"]).backward()
        self.scaler.unscale_(self.optimizer)
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip))
        if not math.isfinite(grad_norm) and not self.use_amp:  # under AMP the scaler skips such steps by design
            self._diverged(iteration, f"gradient norm = {grad_norm}")
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return {**dict(zip(LOSS_PARTS, values.tolist())), "lr": lr, "grad_norm": grad_norm}

    def _diverged(self, iteration: int, what: str) -> None:
        last = self.out_dir / CHECKPOINT_NAME
        kept = f"the last good checkpoint is {last}" if last.is_file() else "no checkpoint was written"
        raise TrainingDiverged(f"training diverged at iteration {iteration} (epoch "
                               f"{iteration // self.iterations_per_epoch}): {what}; nothing was saved from this "
                               f"iteration ({kept}). Lower train.base_lr or train.grad_clip, or check the data.")

    # ------------------------------------------------------------------ checkpoints
    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / CHECKPOINT_NAME

    def save_checkpoint(self) -> None:
        if self.is_main:
            save_training_checkpoint(self.checkpoint_path, self.model_state(), self.optimizer, self.scaler.state_dict(),
                                     self.iteration, self.epoch, self.wall_time, self.configs())

    def setting_differences(self, saved: dict) -> list[str]:
        """``setting: saved -> now`` for every setting (dotted, e.g. ``train.epochs``) in which ``saved`` (a run's
        ``config.json`` or a checkpoint's configs) differs from this trainer's; fields that may change on resume
        (``RESUME_FREE_FIELDS``), the world size and the data roots are not compared."""
        saved, current = json.loads(json.dumps(saved)), json.loads(json.dumps(self.configs()))
        for config in (saved, current):
            config.pop("world_size", None)
            config["train"] = {k: v for k, v in config.get("train", {}).items() if k not in RESUME_FREE_FIELDS}
            config["sources"] = [{k: v for k, v in s.items() if k != "root"} for s in config.get("sources", [])]
        defaults = config_to_dict(TrainConfig())  # a field added since the run started counts as its default
        saved["train"].update({k: v for k, v in current["train"].items()
                               if k not in saved["train"] and v == defaults.get(k)})
        # ... but a model or pair field added since then counts as the behaviour the run had (the earlier one)
        if "model" in saved:
            saved["model"] = {**LEGACY_MODEL_FIELDS, **saved["model"],
                              "head": {**LEGACY_HEAD_FIELDS, **saved["model"].get("head", {})}}
        if "pairs" in saved:
            saved["pairs"] = {**LEGACY_PAIR_FIELDS, **saved["pairs"]}

        def walk(old, new, prefix: str) -> list[str]:
            if isinstance(old, dict) and isinstance(new, dict):
                return [item for key in sorted(set(old) | set(new))
                        for item in walk(old.get(key), new.get(key), f"{prefix}{key}.")]
            return [] if old == new else [f"{prefix.rstrip('.')}: {json.dumps(old)} -> {json.dumps(new)}"]

        return walk(saved, current, "")

    def resume(self, path: str | Path | None = None) -> bool:
        """Continue from ``path`` (default ``out_dir/checkpoint_last.pt``); False if there is none to continue."""
        path = Path(path) if path is not None else self.checkpoint_path
        if not path.is_file():
            return False
        data = load_training_checkpoint(path)
        different = self.setting_differences(data["configs"])
        if different:
            raise ValueError(f"{path}: cannot resume: the run was started with different settings "
                             f"({'; '.join(different[:6])}); use the same settings, or another --out for a new run "
                             f"(see {self.out_dir / 'config.json'})")
        self.model.load_state_dict(data["model"])
        self.optimizer.load_state_dict(data["optimizer"])
        if data.get("scaler"):
            self.scaler.load_state_dict(data["scaler"])
        self.iteration, self.wall_time = int(data["iteration"]), float(data.get("wall_time", 0.0))
        restore_rng_state(data["rng"])
        return True

    def recalibrate_batch_norm(self, batches: int) -> None:
        """Re-estimate BatchNorm statistics with the final weights over ``batches`` batches of pairs drawn after the
        schedule's last epoch (deterministic: the same on a resumed run). Rank 0 only: it alone writes the model."""
        from vlt_mini.training.batchnorm import recalibrate_batch_norm

        first = self.total_iterations
        loader = make_pair_loader(self.dataset, self.config.batch_size, first + batches, first, num_workers=0)
        recalibrate_batch_norm(self.model, loader, self.model.candidate, self.device, self.use_amp)

    # ------------------------------------------------------------------ the loop
    def train(self, stop_after: int | None = None,
              callbacks: Sequence[Callable[["Trainer", dict], None]] = ()) -> dict:
        """Train to the end of the schedule (or for ``stop_after`` more iterations); returns the summary."""
        from vlt_mini.training.metrics import MetricsLog

        end = self.total_iterations if stop_after is None else min(self.total_iterations, self.iteration + stop_after)
        log = MetricsLog(self.out_dir / "metrics.jsonl", enabled=self.is_main)
        if self.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.out_dir / "config.json", json.dumps(self.configs(), indent=2) + "\n")
            log.truncate_after(self.iteration)
        loader = make_pair_loader(self.dataset, self.config.batch_size, end, self.iteration, self.config.num_workers,
                                  self.context.rank, self.context.world_size, pin_memory=self.device.type == "cuda")
        from tqdm.auto import tqdm

        bar = tqdm(total=self.total_iterations, initial=self.iteration, unit="it", desc=f"train {self.kind}",
                   disable=not (self.progress and self.is_main), dynamic_ncols=True)
        started = window_start = time.perf_counter()
        wall_before, window = self.wall_time, []
        try:
            for batch in loader:
                record = self.train_step(batch, self.iteration)
                self.iteration += 1
                self.wall_time = wall_before + time.perf_counter() - started
                window.append(record)
                bar.update(1)
                if self.iteration % self.config.log_every == 0 or self.iteration == end:
                    elapsed = time.perf_counter() - window_start
                    line = log.write(self.iteration, self.iteration / self.iterations_per_epoch, window,
                                     len(window) * self.config.batch_size / max(elapsed, 1e-9), self.wall_time)
                    bar.set_postfix({**{k: f"{line[k]:.3f}" for k in LOSS_PARTS},
                                     "pairs/s": f"{line['pairs_per_s']:.1f}"})
                    window, window_start = [], time.perf_counter()
                epoch_end = self.iteration % self.iterations_per_epoch == 0
                if epoch_end or self.iteration % self.config.checkpoint_every == 0 or self.iteration == end:
                    self.save_checkpoint()
                for callback in callbacks:
                    callback(self, {"iteration": self.iteration, **record})
        finally:
            bar.close()
        in_sync = self.context.replicas_in_sync(self.model)
        if not in_sync:
            raise RuntimeError("the processes ended with different weights; DDP did not keep them in sync")
        summary = {"kind": self.kind, "iteration": self.iteration, "total_iterations": self.total_iterations,
                   "finished": self.iteration >= self.total_iterations, "wall_time_s": self.wall_time,
                   "world_size": self.context.world_size, "replicas_in_sync": in_sync, "last": log.last}
        if summary["finished"] and self.is_main:
            if self.config.bn_recalibration_batches and self.kind != "supernet":  # supernet: per candidate, in search
                self.recalibrate_batch_norm(self.config.bn_recalibration_batches)
                self.save_checkpoint()
            atomic_torch_save(self.model_state(), self.out_dir / FINAL_MODEL_NAME)
            from vlt_mini.training.plots import plot_loss_curves

            plot_loss_curves(self.out_dir / "metrics.jsonl", self.out_dir / "loss_curves.png")
            atomic_write_text(self.out_dir / "train_summary.json", json.dumps(summary, indent=2) + "\n")
        return summary
