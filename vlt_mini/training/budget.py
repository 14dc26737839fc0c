"""Parameter / multiply-add budgets for supernet candidates (SPOS's FLOPs-constrained uniform sampling, VLT Eq. 2).

SPOS samples paths uniformly and, under a FLOPs limit, rejects those above it. ``CandidateBudget.sample`` does the
same for VLT candidates: uniform genes (template path, search path, mixer ops), redrawn until the candidate fits.

Parameters come from ``count_vlt_parameters`` (cheap). Multiply-adds would need a forward pass per candidate, so they
are tabulated instead: every choice layer and mixer block sees an input of the same size whatever the other genes
are, so a candidate's count is one measured reference (``count_vlt_macs`` of the all-zero candidate) plus, per gene,
the difference its op makes (``block_macs`` of that block on its input size). The tests check the sum against
``count_vlt_macs``.
"""
from __future__ import annotations

import random

from vlt_mini.models.candidate import NUM_STAGES, Candidate
from vlt_mini.models.choice_blocks import NUM_CHOICES, block_macs
from vlt_mini.models.head import feature_map_size
from vlt_mini.models.supernet import NUM_CHOICE_LAYERS, STAGE_LAYER_RANGES
from vlt_mini.models.vlt import VLTNet, count_vlt_macs, count_vlt_parameters

STEM_STRIDE = 2


class CandidateBudget:
    """Limits on a candidate's parameters and multiply-adds (template + one search frame); ``None`` = no limit."""

    def __init__(self, model: VLTNet, max_parameters: int | None = None, max_macs: int | None = None) -> None:
        self.model = model
        self.max_parameters = max_parameters or None
        self.max_macs = max_macs or None
        self._table: list[list[int]] | None = None
        self._reference = 0

    @property
    def limited(self) -> bool:
        return self.max_parameters is not None or self.max_macs is not None

    # ------------------------------------------------------------------ counting
    def parameters(self, candidate: Candidate) -> int:
        return count_vlt_parameters(self.model, candidate)

    def macs(self, candidate: Candidate) -> int:
        """Multiply-adds of the template branch plus one search frame (``count_vlt_macs(...)["total"]``)."""
        if self._table is None:
            self._build_table()
        return self._reference + sum(row[gene] - row[0] for row, gene in zip(self._table, candidate.genes))

    def _branch_rows(self, image_size: int, branch: str) -> tuple[list[list[int]], list[list[int]]]:
        """Per choice layer and per mixer block of one branch, the multiply-adds of each op on its input."""
        model, config = self.model, self.model.config
        size = feature_map_size(image_size, STEM_STRIDE)
        layers, mixers = [], []
        mixes = config.use_modamixer
        for stage, (start, stop) in enumerate(STAGE_LAYER_RANGES):
            for layer in range(start, stop):
                blocks = model.backbone.features[layer]
                if layer == stop - 1 and mixes:  # the mixer works on the penultimate block's output
                    mixer = model.mixers_for(branch)[stage]
                    mixers.append([block_macs(mixer.blocks[op if mixer.searched_block else 0], size, size)[0]
                                   for op in range(NUM_CHOICES)])
                    if not mixer.residual:  # "w/o Res": the stage's last block is not run
                        layers.append([0] * NUM_CHOICES)
                        continue
                costs = [block_macs(blocks[op], size, size) for op in range(NUM_CHOICES)]
                layers.append([macs for macs, _, _ in costs])
                size = costs[0][1]
        if not mixes:
            mixers = [[0] * NUM_CHOICES for _ in range(NUM_STAGES)]
        return layers, mixers

    def _build_table(self) -> None:
        config = self.model.config
        template_layers, template_mixers = self._branch_rows(config.template_size, "template")
        search_layers, search_mixers = self._branch_rows(config.search_size, "search")
        assert len(template_layers) == NUM_CHOICE_LAYERS
        self._table = template_layers + search_layers + template_mixers + search_mixers  # the order of genes
        self._reference = count_vlt_macs(self.model, Candidate.from_genes([0] * len(self._table)))["total"]

    # ------------------------------------------------------------------ sampling
    def fits(self, candidate: Candidate) -> bool:
        if self.max_parameters is not None and self.parameters(candidate) > self.max_parameters:
            return False
        return self.max_macs is None or self.macs(candidate) <= self.max_macs

    def sample(self, rng: random.Random, symmetric: bool = False, max_tries: int = 10_000) -> Candidate:
        """A uniformly drawn candidate inside the budget (rejection sampling, as SPOS)."""
        for _ in range(max_tries):
            candidate = Candidate.sample(rng, symmetric=symmetric)
            if self.fits(candidate):
                return candidate
        raise ValueError(f"no candidate within the budget (max_parameters={self.max_parameters}, "
                         f"max_macs={self.max_macs}) in {max_tries} draws; loosen the limits")
