"""The VLT network (VLT_SCAR): SPOS backbones with ModaMixer in every stage, the SiamCAR neck and head (paper Fig. 2).

One SPOS supernet holds the weights (a Siamese network shares them); a ``Candidate`` picks a path for the template
branch and another for the search branch (asymmetric; the same one for both is the symmetric variant), and one op for
the ModaMixer block of every stage and branch. As in the official code (SOTS ``lib/models/backbone/SPOS_VLT.py``:
one ``token_map`` and one ``nlp_layers`` list for both branches), one language projection and one set of mixer choice
blocks per stage serve both branches, each branch with its own op choice, so a sentence selects the same channels on
both sides of the depth-wise correlation; ``shared_mixers=False`` gives each branch its own (vlt-mini before
issue 13). As in the official code, ModaMixer sits at the output of each stage's penultimate block: the stage
output becomes ``last_block(f_v) + Block_ASS(Linear(f_l) ⊙ f_v)`` (Eq. 1; the residual term is the stage's own
searched last block). Stages 2–4 (stride 8) feed the head.

``use_modamixer=False`` is the vision-only SiamCAR baseline on the same backbone. The language token is the sentence
embedding ``f_l`` where a pair has a sentence, and the 0-tensor or the template token otherwise (``no_sentence_mode``).
Images are BGR crops with values 0–255 (the SPOS convention, see ``spos_preprocess``), as the trackers cut them.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import nn

from vlt_mini.profiles import check_profile, crop_sizes
from vlt_mini.models.candidate import VLT_SCAR_CANDIDATE, Candidate
from vlt_mini.models.choice_blocks import block_macs
from vlt_mini.models.head import HeadConfig, HeadOutput, SiamCARHead, feature_map_size
from vlt_mini.models.modamixer import LANGUAGE_MODES, SELECTOR_INITS, ModaMixer, TemplateToken, select_language_token
from vlt_mini.models.supernet import STAGE_LAYER_RANGES, SPOSSupernet, SupernetConfig

HEAD_LEVELS = (1, 2, 3)  # stages 2, 3, 4 feed the head (0-based stage indices)
BRANCHES = ("template", "search")
# What a field missing from a saved config meant before it existed (checkpoints written before issue 13): loading an
# old checkpoint rebuilds the network it was trained and evaluated as.
LEGACY_MODEL_FIELDS = {"shared_mixers": False, "selector_init": "random"}
LEGACY_HEAD_FIELDS = {"test_kernel": "cropped"}


@dataclass
class VLTConfig:
    """Everything that shapes a VLT network; ``VLTConfig.for_profile("tiny" | "cpu" | "paper")``."""

    profile: str = "paper"
    supernet: SupernetConfig = field(default_factory=SupernetConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    search_size: int = 255
    language_dim: int = 384           # the text encoder's width: 384 for MiniLM (offline default), 768 for bert-base
    use_modamixer: bool = True        # False: the vision-only SiamCAR baseline
    mixer_residual: bool = True       # False: "w/o Res" (Tab. 5c)
    mixer_searched_block: bool = True  # False: a fixed Shuffle 3×3 block in ModaMixer (Tab. 5b)
    no_sentence_mode: str = "0-tensor"  # the token of pairs without a sentence: "0-tensor" or "template" (Tab. 4)
    shared_mixers: bool = True        # one language projection + mixer blocks for both branches (official); False: per branch
    selector_init: str = "random"     # the language selector's start: "random" (official: a random projection + BN,
    # a random-sign pattern per sentence) or "ones" (BN scale 0, shift 1: every channel selected with weight 1; the
    # sentence-dependent part grows from 0) -- see ModaMixer

    def __post_init__(self) -> None:
        check_profile(self.profile)
        if self.supernet.stride != 8:
            raise ValueError(f"the tracker needs the stride-8 supernet, got stride {self.supernet.stride}")
        if self.no_sentence_mode not in LANGUAGE_MODES[1:]:
            raise ValueError(f"no_sentence_mode must be '0-tensor' or 'template', got {self.no_sentence_mode!r}")
        if self.selector_init not in SELECTOR_INITS:
            raise ValueError(f"selector_init must be one of {', '.join(SELECTOR_INITS)}, got {self.selector_init!r}")

    @property
    def template_size(self) -> int:
        return self.head.template_size

    @classmethod
    def for_profile(cls, profile: str, **overrides: Any) -> "VLTConfig":
        """``paper``: 127 / 255 crops and the official widths; ``cpu`` and ``tiny`` 63 / 127."""
        head = HeadConfig.for_profile(profile)
        search_size = crop_sizes(profile)[1]
        config = cls(profile=profile, supernet=SupernetConfig.for_profile(profile), head=head, search_size=search_size)
        return dataclasses.replace(config, **overrides)


class TemplateState(NamedTuple):
    """What tracking keeps from the first frame: the head's template kernels and the language token."""

    kernels: list[torch.Tensor]
    token: torch.Tensor | None


class VLTNet(nn.Module):
    """VLT_SCAR: ``forward(z, x, f_l, ...)`` -> ``HeadOutput(cls, centerness, ltrb)`` for a template and a search crop."""

    def __init__(self, config: VLTConfig | None = None, *, profile: str | None = None,
                 candidate: Candidate | None = None) -> None:
        super().__init__()
        if config is None:
            config = VLTConfig.for_profile(profile or "paper")
        elif profile is not None:
            raise ValueError("give either config or profile, not both")
        self.config = config
        self.candidate = candidate or VLT_SCAR_CANDIDATE
        self.backbone = SPOSSupernet(config=config.supernet)
        channels = config.supernet.stage_channels
        self.template_token: TemplateToken | None = None   # only in the 'template' no-sentence mode (Tab. 4)
        # The mixers are registered as ``mixers`` (shared, official) or ``template_mixers`` and ``search_mixers`` (one
        # set per branch, the earlier layout, whose checkpoints keep loading); ``mixers_for(branch)`` reads either.
        if config.use_modamixer:
            def mixers() -> nn.ModuleList:
                return nn.ModuleList(ModaMixer(config.language_dim, c, config.mixer_residual, config.mixer_searched_block,
                                               config.selector_init) for c in channels)
            if config.shared_mixers:
                self.mixers = mixers()
            else:
                self.template_mixers, self.search_mixers = mixers(), mixers()
            if config.no_sentence_mode == "template":
                self.template_token = TemplateToken(config.supernet.stem_channels, config.language_dim, feature_stride=2)
        self.head = SiamCARHead([channels[i] for i in HEAD_LEVELS], config.head)

    # ------------------------------------------------------------------ pieces
    def mixers_for(self, branch: str) -> nn.ModuleList | None:
        """The ModaMixers of ``branch`` ("template" or "search"), one per stage; the same list for both branches when
        they are shared; None for the vision-only baseline."""
        if branch not in BRANCHES:
            raise ValueError(f"branch must be one of {', '.join(BRANCHES)}, got {branch!r}")
        if not self.config.use_modamixer:
            return None
        return self.mixers if self.config.shared_mixers else getattr(self, f"{branch}_mixers")

    def backbone_features(self, image: torch.Tensor, path: tuple[int, ...], mixers: nn.ModuleList | None,
                          mixer_ops: tuple[int, ...], token: torch.Tensor | None,
                          stem: torch.Tensor | None = None) -> list[torch.Tensor]:
        """One branch: the stem, then per stage its blocks with ModaMixer around the last one; stages 2–4 returned."""
        f = self.backbone.forward_stem(image) if stem is None else stem
        outputs = []
        for stage, (start, stop) in enumerate(STAGE_LAYER_RANGES):
            for layer in range(start, stop - 1):
                f = self.backbone.forward_layer(layer, f, path[layer])
            if mixers is None:
                f = self.backbone.forward_layer(stop - 1, f, path[stop - 1])
            else:
                mixer = mixers[stage]
                residual = self.backbone.forward_layer(stop - 1, f, path[stop - 1]) if mixer.residual else None
                f = mixer(f, token, mixer_ops[stage], residual)  # Eq. 1
            outputs.append(f)
        return [outputs[i] for i in HEAD_LEVELS]

    def language_token(self, batch: int, f_l: torch.Tensor | None, has_sentence: torch.Tensor | None,
                       template_stem: torch.Tensor, template_boxes: torch.Tensor | None,
                       ref: torch.Tensor) -> torch.Tensor | None:
        """The token each pair feeds to its ModaMixers (None for the vision-only baseline)."""
        if not self.config.use_modamixer:
            return None
        template_token = None
        if self.config.no_sentence_mode == "template":
            if template_boxes is None:
                raise ValueError("the 'template' no-sentence mode needs z_box: the target box in the template crop")
            template_token = self.template_token(template_stem, template_boxes)
        return select_language_token(f_l, has_sentence, self.config.no_sentence_mode, template_token, batch,
                                     self.config.language_dim, ref.device, ref.dtype)

    def default_template_box(self, batch: int, device: torch.device) -> torch.Tensor:
        """The target box in a template crop made with context 0.5: the centre ``s·(w, h) / sqrt((w+p)(h+p))`` wide;
        without the real size we assume a square target, i.e. a box of side template_size / 2 around the centre."""
        size, half = self.config.template_size, self.config.template_size / 4
        centre = (size - 1) / 2
        return torch.tensor([[centre - half, centre - half, centre + half, centre + half]], device=device).expand(batch, 4)

    # ------------------------------------------------------------------ forward
    def encode_template(self, z: torch.Tensor, f_l: torch.Tensor | None = None, has_sentence: torch.Tensor | None = None,
                        z_box: torch.Tensor | None = None, candidate: Candidate | None = None) -> TemplateState:
        """The template branch, once per video: head kernels and the language token (reused by the search branch)."""
        candidate = candidate or self.candidate
        stem = self.backbone.forward_stem(z)
        token = self.language_token(z.shape[0], f_l, has_sentence, stem, z_box, z)
        features = self.backbone_features(z, candidate.template_path, self.mixers_for("template"),
                                          candidate.template_mixer, token, stem=stem)
        return TemplateState(self.head.template_kernels(features), token)

    def forward_search(self, x: torch.Tensor, state: TemplateState, candidate: Candidate | None = None) -> HeadOutput:
        """The search branch and the head for a search crop, given the template's state."""
        candidate = candidate or self.candidate
        token = state.token
        if token is not None and token.shape[0] != x.shape[0]:
            token = token.expand(x.shape[0], -1)
        features = self.backbone_features(x, candidate.search_path, self.mixers_for("search"),
                                          candidate.search_mixer, token)
        return self.head.forward_with_kernels(state.kernels, features)

    def forward(self, z: torch.Tensor, x: torch.Tensor, f_l: torch.Tensor | None = None,
                has_sentence: torch.Tensor | None = None, z_box: torch.Tensor | None = None,
                candidate: Candidate | None = None) -> HeadOutput:
        """z (B, 3, T, T) template, x (B, 3, S, S) search (BGR 0–255), f_l (B, d) sentence embeddings or None,
        has_sentence (B,) bool, z_box (B, 4) x1, y1, x2, y2 of the target in the template crop ("template" mode)."""
        if z.shape[0] != x.shape[0]:
            raise ValueError(f"template and search batches differ: {z.shape[0]} vs {x.shape[0]}")
        return self.forward_search(x, self.encode_template(z, f_l, has_sentence, z_box, candidate), candidate)

    def score_map_offset(self, training: bool | None = None) -> float:
        """Search-crop pixel that score-map cell 0 looks at (cell j: ``offset + j · stride``), from the crop geometry.

        The target sits at the centre of the template feature map ((F_z − 1) / 2); the kernel is its crop starting at
        ``start``; the search map's centre cell (F_x − 1) / 2 is the crop's centre pixel (S − 1) / 2. For 127 / 255 at
        stride 8 that is 31 with the 8×8 (training) or the 7×7 (test) kernel; SiamCAR's training code rounds it to 32.
        With the test-time resampling (F_z, F_x = 15, 31) the same rule gives 31 again, the official tracker's
        ``accurate_location`` offset (SOTS ``lib/tracker/sot_tracker.py``): the centre cell stays on the crop centre,
        with the nominal ``stride`` between cells as the official tracker assumes (``score_map_stride`` gives the
        exact spacing of the resampled cells).
        """
        from vlt_mini.models.head import center_crop_bounds

        head, training = self.config.head, self.training if training is None else training
        template_cells, search_cells = head.feature_sizes(self.config.search_size, training)
        start, _ = center_crop_bounds(template_cells, head.crop_size(training))
        shift = (template_cells - 1) / 2 - start - (search_cells - 1) / 2
        return (self.config.search_size - 1) / 2 + shift * head.stride

    def score_map_stride(self, training: bool | None = None) -> float:
        """Crop pixels between neighbouring score-map cells: the backbone stride, or with the test-time resampling
        F_x / (F_x − 1) times it (8 · 32/31 ≈ 8.26 at ``paper``, 8 · 16/15 ≈ 8.53 at ``cpu``). The official tracker
        uses the nominal stride; a decoder that wants the exact geometry scales displacements and ltrb by
        ``score_map_stride / stride``."""
        head, training = self.config.head, self.training if training is None else training
        _, resampled = head.feature_sizes(self.config.search_size, training)
        return head.stride * feature_map_size(self.config.search_size, head.stride) / resampled

    @property
    def score_size(self) -> int:
        """Side of the score map in training (25 for 255 / 127 at stride 8)."""
        head = self.config.head
        search = feature_map_size(self.config.search_size, head.stride)
        return search - head.crop_size(training=True) + 1


# ------------------------------------------------------------------------------------------- checkpoints
def vlt_config_from_dict(data: dict) -> VLTConfig:
    """Rebuild a ``VLTConfig`` from ``dataclasses.asdict`` output (as stored in checkpoints and config.json)."""
    data = {**LEGACY_MODEL_FIELDS, **data}  # a field the saved config lacks keeps the behaviour it was saved with
    data["supernet"] = SupernetConfig(**data["supernet"])
    data["head"] = HeadConfig(**{**LEGACY_HEAD_FIELDS, **data["head"]})
    return VLTConfig(**data)


def model_checkpoint(model: VLTNet, **extra: Any) -> dict:
    """What a VLT checkpoint holds: the weights, the config and the candidate (plus ``extra``, e.g. the text model),
    and what it is: ``format``, ``kind`` (default: ``vlt`` with ModaMixer, else ``siamcar``) and ``architecture``."""
    from vlt_mini.models.kinds import CHECKPOINT_FORMAT, CHECKPOINT_VERSION

    config = model.config
    architecture = {"backbone": "SPOS supernet" + (" + ModaMixer" if config.use_modamixer else ""),
                    "template_size": config.template_size, "search_size": config.search_size,
                    "language_dim": config.language_dim if config.use_modamixer else None}
    return {"format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION,
            "kind": "vlt" if config.use_modamixer else "siamcar", "architecture": architecture,
            "model": model.state_dict(), "config": json_ready(dataclasses.asdict(config)),
            "candidate": model.candidate.to_dict(), **extra}


def json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def load_vlt_checkpoint(checkpoint: str | Any, map_location: str = "cpu",
                        kinds: tuple[str, ...] | None = None, purpose: str = "this") -> tuple[VLTNet, dict]:
    """Build the network a checkpoint describes and load its weights; returns (model in eval mode, checkpoint dict).

    A missing file, a file that is not a vlt-mini checkpoint, weights of another architecture, or (with ``kinds``) a
    checkpoint of another kind (``vlt_mini.models.kinds``) give a clear error naming the file.
    """
    from vlt_mini.io import load_checkpoint
    from vlt_mini.models.kinds import check_checkpoint_kind

    source = str(checkpoint) if not isinstance(checkpoint, dict) else "the checkpoint"
    data = load_checkpoint(checkpoint, map_location) if not isinstance(checkpoint, dict) else checkpoint
    if not isinstance(data, dict) or not {"model", "config", "candidate"} <= set(data):
        raise ValueError(f"{source}: not a vlt-mini model checkpoint (expected keys model, config, candidate); give "
                         "model_final.pt or checkpoint_last.pt of a `vlt-mini train` run")
    if kinds is not None:
        check_checkpoint_kind(data, kinds, source, purpose)
    try:
        config = vlt_config_from_dict(data["config"])
    except (TypeError, KeyError, ValueError) as error:
        raise ValueError(f"{source}: its config does not describe a VLT network ({error})") from None
    model = VLTNet(config, candidate=Candidate.from_dict(data["candidate"], source))
    try:
        model.load_state_dict(data["model"])
    except (RuntimeError, TypeError, AttributeError) as error:
        first_lines = "; ".join(str(error).splitlines()[:3])
        raise ValueError(f"{source}: weights do not fit the architecture in its config: {first_lines}") from None
    return model.eval(), data


# ---------------------------------------------------------------------------------------------- counting
def count_vlt_parameters(model: VLTNet, candidate: Candidate | None = None) -> int:
    """Parameters a candidate uses: the union of both branches' backbone blocks (shared weights are counted once),
    its ModaMixer blocks and projections, the template token, the neck and the head."""
    candidate = candidate or model.candidate
    modules = model.backbone.path_modules(candidate.template_path) + model.backbone.path_modules(candidate.search_path)
    if model.config.use_modamixer:
        for branch, ops in zip(BRANCHES, (candidate.template_mixer, candidate.search_mixer)):
            for mixer, op in zip(model.mixers_for(branch), ops):
                modules += [mixer.language_projection, mixer.blocks[op if mixer.searched_block else 0]]
        if model.template_token is not None:
            modules.append(model.template_token)
    modules.append(model.head)
    parameters = {id(p): p for module in modules for p in module.parameters()}
    return sum(p.numel() for p in parameters.values())


def count_vlt_macs(model: VLTNet, candidate: Candidate | None = None, training: bool = False) -> dict[str, int]:
    """Multiply-adds of one template (once per video) and one search frame, counted on a real forward pass with
    hooks on every convolution and linear layer, plus the depth-wise cross-correlations (functional convolutions)."""
    candidate = candidate or model.candidate
    config = model.config
    counts = {"total": 0}

    def hook(module: nn.Module, inputs, output) -> None:
        if isinstance(module, nn.Conv2d):
            k_h, k_w = module.kernel_size
            counts["total"] += module.out_channels * (module.in_channels // module.groups) * k_h * k_w * output[0, 0].numel()
        elif isinstance(module, nn.Linear):
            counts["total"] += module.in_features * module.out_features

    model = copy.deepcopy(model).train(training)  # a copy: train-mode BatchNorm would update running statistics
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    batch = 2  # train-mode BatchNorm needs more than one value per channel; the hooks count per image
    try:
        with torch.no_grad():
            device = next(model.parameters()).device
            z = torch.rand(batch, 3, config.template_size, config.template_size, device=device)
            x = torch.rand(batch, 3, config.search_size, config.search_size, device=device)
            f_l = torch.rand(batch, config.language_dim, device=device) if config.use_modamixer else None
            z_box = model.default_template_box(batch, device)
            state = model.encode_template(z, f_l, None, z_box, candidate)
            template_macs = counts["total"]
            counts["total"] = 0
            model.forward_search(x, state, candidate)
            search_features = [config.head.feature_sizes(config.search_size, training)[1]] * len(state.kernels)
            xcorr = sum(k.shape[1] * k.shape[2] * k.shape[3] * (s - k.shape[2] + 1) ** 2
                        for k, s in zip(state.kernels, search_features))
            search_macs = counts["total"] + xcorr
    finally:
        for handle in handles:
            handle.remove()
    return {"template": template_macs, "search": search_macs, "total": template_macs + search_macs}
