"""BatchNorm recalibration: re-estimate the running statistics of a network with its current weights.

Train-mode BatchNorm normalises with the batch's own statistics and keeps an exponential moving average (momentum
0.1) for evaluation. When the weights move fast (training from scratch at a high learning rate, as the small profiles
do) that average lags behind them, and it mixes template and search batches, which pass through the same Siamese
backbone. Resetting the statistics and averaging them over a few training batches with the final weights (SPOS's
"BN recalibration", used before scoring each candidate of the evolutionary search) removes the lag.
"""
from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from vlt_mini.models.candidate import Candidate


@torch.no_grad()
def recalibrate_batch_norm(model: nn.Module, batches: Iterable[dict], candidate: Candidate | None = None,
                           device: torch.device | str = "cpu", amp: bool = False) -> int:
    """Reset every BatchNorm's running statistics and re-estimate them (cumulative average) over ``batches`` of
    training pairs run in train mode without gradients; returns the number of batches used. The model is left in
    eval mode."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative moving average: every batch counts the same
    device = torch.device(device)
    model.train()
    count = 0
    try:
        for batch in batches:
            z, x, f_l, has_sentence, z_box = (batch[k].to(device) for k in ("z", "x", "f_l", "has_sentence", "z_box"))
            with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
                model(z, x, f_l, has_sentence, z_box, candidate)
            count += 1
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
        model.eval()
    if count == 0:
        raise ValueError("BatchNorm recalibration needs at least one batch")
    return count
