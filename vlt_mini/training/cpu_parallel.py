"""Training on several CPU cores: batch shards in threads, and an allocator that keeps its memory.

The ``cpu`` network's layers are small (16 pairs of 16×16 maps with 40–80 channels), so one operation split over two
OpenMP threads gains little: two threads train only about 15 % faster than one. Splitting the *batch* instead scales:
each shard runs forward and backward on its own core, one thread each, like the official multi-GPU training
(pysot / SiamCAR ``tools/train.py``: every GPU normalises its own loss, BatchNorm statistics are per GPU, gradients
are averaged). ``benchmarks/bench_training.py --fast-vs-reference`` measures it.

What differs from one shard: BatchNorm normalises over each shard's pairs (8 instead of 16 at ``cpu``), and each
shard normalises its loss over its own positives. The running BatchNorm statistics are the mean of the shards'
(exact for the running means; for the variances the mean of per-shard estimates). Gradients are summed in shard
order, so a run is as reproducible as a one-shard run.
"""
from __future__ import annotations

import copy
import ctypes
import ctypes.util
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

import torch
from torch import nn

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters
_allocator_tuned = False


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed blocks instead of returning them to the system (once per process).

    By default glibc serves each activation of a few hundred KB with a fresh ``mmap`` and unmaps it when freed, so
    every training step page-faults all its activations in again (about 80 000 faults per ``cpu`` iteration): about
    6 % of a one-thread step. Raising the mmap and trim thresholds makes freed memory reusable. Changes no number.
    Returns whether the setting took (False off glibc)."""
    global _allocator_tuned
    if _allocator_tuned:
        return True
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    _allocator_tuned = bool(mallopt(_M_MMAP_THRESHOLD, 1 << 30)) and bool(mallopt(_M_TRIM_THRESHOLD, 2 ** 31 - 1))
    return _allocator_tuned


def tied_replica(model: nn.Module) -> nn.Module:
    """A copy of ``model`` that shares its parameters (the same tensors) but has its own buffers (BatchNorm
    statistics), so two threads can run it and the original at once without racing on the running statistics."""
    replica = copy.deepcopy(model)
    originals = dict(model.named_modules())
    for name, module in replica.named_modules():
        for key in module._parameters:
            module._parameters[key] = originals[name]._parameters[key]
    return replica


def split_batch(batch: dict, shards: int) -> list[dict]:
    """``shards`` consecutive equal parts of a batch (tensors and lists alike, split along the first axis)."""
    size = len(next(iter(batch.values())))
    if size % shards:
        raise ValueError(f"a batch of {size} pairs does not split into {shards} equal shards")
    step = size // shards
    return [{key: value[i * step:(i + 1) * step] for key, value in batch.items()} for i in range(shards)]


class ShardedStep:
    """Forward and backward of a batch split into ``len(models)`` shards, one thread per shard.

    ``models[0]`` is the trained network, the others its ``tied_replica``s. ``run(shards, loss_of)`` calls
    ``loss_of(model, shard)`` (returning the loss parts, ``"total"`` first) in each thread and leaves the mean of
    the shards' gradients in ``.grad``; it returns each shard's detached loss parts."""

    def __init__(self, model: nn.Module, shards: int, threads_per_shard: int = 1) -> None:
        if shards < 2:
            raise ValueError(f"ShardedStep needs at least 2 shards, got {shards}")
        self.models = [model] + [tied_replica(model) for _ in range(shards - 1)]
        self.parameters = [p for p in model.parameters() if p.requires_grad]
        self._pool = ThreadPoolExecutor(shards, thread_name_prefix="train-shard",
                                        initializer=torch.set_num_threads, initargs=(threads_per_shard,))
        self._buffers = [list(m.buffers()) for m in self.models]

    def _shard(self, model: nn.Module, shard: dict, loss_of: Callable) -> tuple[dict, Sequence]:
        losses = loss_of(model, shard)
        gradients = torch.autograd.grad(losses["total"], self.parameters, allow_unused=True)
        return {k: v.detach() for k, v in losses.items()}, gradients

    def run(self, shards: Sequence[dict], loss_of: Callable) -> list[dict]:
        if len(shards) != len(self.models):
            raise ValueError(f"{len(shards)} shards for {len(self.models)} models")
        self._share_statistics()
        futures = [self._pool.submit(self._shard, m, s, loss_of) for m, s in zip(self.models, shards)]
        results = [f.result() for f in futures]
        scale = 1.0 / len(results)
        for index, parameter in enumerate(self.parameters):
            parts = [gradients[index] for _, gradients in results if gradients[index] is not None]
            if not parts:
                parameter.grad = None
                continue
            total = parts[0].clone()
            for part in parts[1:]:
                total.add_(part)
            parameter.grad = total.mul_(scale)
        self._average_statistics()
        return [losses for losses, _ in results]

    def _share_statistics(self) -> None:
        """The replicas start each step from the trained network's buffers (which a resume may have loaded)."""
        if self._buffers[0]:
            for replica in self._buffers[1:]:
                torch._foreach_copy_(replica, self._buffers[0])

    def _average_statistics(self) -> None:
        """Running means and variances: the shards' mean (the batch counters agree: every shard counted one)."""
        floating = [[b for b in buffers if b.is_floating_point()] for buffers in self._buffers]
        if floating[0]:
            for replica in floating[1:]:
                torch._foreach_add_(floating[0], replica)
            torch._foreach_mul_(floating[0], 1.0 / len(self.models))
