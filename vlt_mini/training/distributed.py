"""Multi-process training with PyTorch's own DistributedDataParallel, as ``torchrun`` starts it.

``torchrun --nproc_per_node=N -m vlt_mini.cli train ...`` sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; the trainer
then joins the process group (NCCL on CUDA, gloo on CPU), each process trains on its slice of every global batch, and
only rank 0 writes files and shows progress. Without those variables everything runs in one process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands: ``rank`` of ``world_size``, ``local_rank`` on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_environment(cls) -> "DistributedContext":
        """Read torchrun's variables; a missing or inconsistent one is an error naming it."""
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size <= 1:
            return cls()
        try:
            rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
        except KeyError as error:
            raise ValueError(f"WORLD_SIZE={world_size} but ${error.args[0]} is not set; start with torchrun") from None
        if not 0 <= rank < world_size:
            raise ValueError(f"RANK={rank} is outside 0..{world_size - 1}")
        return cls(rank, world_size, local_rank)

    def init(self, device: torch.device) -> None:
        """Join the process group (once per process)."""
        if self.enabled and not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The mean over processes of a tensor every process holds (itself when alone)."""
        if not self.enabled:
            return values
        values = values.clone()
        dist.all_reduce(values)
        return values / self.world_size

    def replicas_in_sync(self, module: torch.nn.Module) -> bool:
        """Whether every process holds the same weights (a per-tensor checksum compared across ranks). BatchNorm
        running statistics are left out: each process updates them with its own slice; rank 0's are saved."""
        if not self.enabled:
            return True
        checksum = torch.stack([p.detach().double().sum() for p in module.parameters()])
        gathered = [torch.empty_like(checksum) for _ in range(self.world_size)]
        dist.all_gather(gathered, checksum)
        return all(torch.equal(gathered[0], other) for other in gathered[1:])


def resolve_device(device: str, context: DistributedContext) -> torch.device:
    """``auto`` -> CUDA where available, else CPU; under torchrun each process takes the GPU of its local rank."""
    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {device!r}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was asked for but CUDA is not available on this machine")
        index = context.local_rank if context.enabled or device == "cuda" else int(device.split(":")[1])
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return torch.device("cpu")
