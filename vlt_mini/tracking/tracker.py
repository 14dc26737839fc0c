"""The SiamCAR / VLT tracker: inference of a trained ``VLTNet`` over a video (SiamCAR's ``siamcar_tracker.py``).

Per video: the template crop (context 0.5) and its language token are computed once. Per frame (docs/official_code.md):

1. crop the search region around the last position at ``s_x = s_z · search_size / template_size``;
2. score = softmax(cls)[target] × normalised centerness × the scale / ratio change penalty
   ``exp(−k · (max(r, 1/r) · max(s, 1/s) − 1))``; blend with a Hanning window (``window_influence``);
3. the maps are upsampled bicubically to one cell per crop pixel (as SiamCAR), the peak gives the position and its
   l, t, r, b the size; the size is smoothed with ``lr' = penalty · cls · lr`` (cls: the target probability at the
   peak); the centre is clamped to the frame and the sides to [10 px, the frame] (pysot / SOTS).
   ``TrackerHyperParameters.size_lr_from``, ``center_from`` and ``min_size`` select the pre-issue-13 choices
   (score instead of cls, the box's centre instead of the peak, 4 px).

Hyper-parameters per dataset are named presets (``PRESETS``), so there is no ``if dataset == ...`` in the code.

``fast=True`` (default) computes the same boxes with less work per frame: the search branch with BatchNorm folded
into its convolutions (``vlt_mini.models.inference``), under ``torch.inference_mode``; the score maps decoded in NumPy
in one pass, the bicubic upsampling as two small matrix products (the interpolation matrix of ``interpolate``,
cached), the box, score and penalty upsampled at the peak only, the cosine window cached. ``fast=False`` is the
reference path written step by step as above (notebook 06 follows it); ``tests/test_fast_tracking.py`` checks that the
two agree.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vlt_mini.data.crops import context_side, crop, search_window, template_window, to_tensor
from vlt_mini.tracking.base import Tracker, check_init_box
from vlt_mini.tracking.presets import PRESETS, TrackerHyperParameters, hyper_parameters  # noqa: F401 (re-exported)


_UPSAMPLING: dict[tuple[int, int], np.ndarray] = {}
_WINDOWS: dict[tuple[int, float], np.ndarray] = {}


def upsampling_matrix(cells: int, up: int) -> np.ndarray:
    """(up, cells) matrix U with ``U @ M @ U.T`` = bicubic ``interpolate(M, size=(up, up), align_corners=True)``.

    Bicubic interpolation is separable and linear, so U is its 1-D form: the interpolation of each unit impulse,
    taken from ``torch.nn.functional.interpolate`` itself (a map of width 1 stays as it is along that axis)."""
    key = (cells, up)
    if key not in _UPSAMPLING:
        impulses = torch.eye(cells, dtype=torch.float64)[None, :, :, None]  # (1, cells, cells, 1): channel j = e_j
        columns = torch.nn.functional.interpolate(impulses, size=(up, 1), mode="bicubic", align_corners=True)
        _UPSAMPLING[key] = columns[0, :, :, 0].T.numpy().copy()  # (up, cells)
    return _UPSAMPLING[key]


def upsample_map(upsample: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``upsample @ matrix @ upsample.T`` through PyTorch, not NumPy: NumPy's OpenBLAS keeps its own threads spinning
    after a product, and with two OpenMP threads of the network on two cores that made every next network call 1.7×
    slower (the fast path ran slower on two threads than on one). PyTorch's product uses the network's threads."""
    up = torch.from_numpy(upsample)
    return (up @ torch.from_numpy(np.ascontiguousarray(matrix, dtype=np.float64)) @ up.T).numpy()


def weighted_window(size: int, influence: float) -> np.ndarray:
    """``influence ×`` the outer product of two Hanning windows (the cosine window term of the score), cached."""
    key = (size, influence)
    if key not in _WINDOWS:
        hanning = np.hanning(size)
        _WINDOWS[key] = np.outer(hanning, hanning) * influence
    return _WINDOWS[key]


def _change(ratio: np.ndarray) -> np.ndarray:
    return np.maximum(ratio, 1.0 / ratio)


def _padded_side(width: np.ndarray, height: np.ndarray) -> np.ndarray:
    pad = (width + height) * 0.5
    return np.sqrt((width + pad) * (height + pad))


class VLTTracker(Tracker):
    """Tracks with a ``VLTNet`` (VLT_SCAR, or the vision-only SiamCAR baseline when it has no ModaMixer)."""

    name = "vlt"
    checkpoint: dict | None = None  # {"path", "sha256"} when built from a checkpoint file

    def __init__(self, model, text_encoder=None, hyper: TrackerHyperParameters | str = "lasot",
                 use_language: bool = True, device: str | torch.device = "cpu", fast: bool = True,
                 folded=None) -> None:
        """``fast``: the folded network and one-pass decoding (see the module docstring); ``folded``: a
        ``FoldedSearchBranch`` of this model to share between trackers (made here when not given)."""
        self.model = model.eval().to(device)
        self.device = torch.device(device)
        self.text_encoder = text_encoder
        self.hyper = PRESETS[hyper] if isinstance(hyper, str) else hyper
        self.use_language = use_language
        self.uses_language = bool(model.config.use_modamixer and use_language)
        config = model.config
        self.template_size, self.search_size = config.template_size, config.search_size
        self.stride = config.head.stride
        self.offset = model.score_map_offset(training=False)
        self.last: dict = {}  # the maps of the last frame, for notebooks and debugging
        self.fast = fast
        self.folded = folded
        if fast and folded is None:
            self.folded = self.fold(self.model)

    @staticmethod
    def fold(model):
        """The model's search branch with folded BatchNorms, or None for a model that is not a ``VLTNet``."""
        from vlt_mini.models.inference import FoldedSearchBranch
        from vlt_mini.models.vlt import VLTNet

        return FoldedSearchBranch(model) if isinstance(model, VLTNet) else None

    # ------------------------------------------------------------------ construction from a checkpoint
    @classmethod
    def from_checkpoint(cls, checkpoint: str | Path, preset: TrackerHyperParameters | str = "lasot",
                        device: str = "cpu", use_language: bool = True, text_model: str | None = None,
                        fast: bool = True) -> "VLTTracker":
        """A tracker on a ``vlt`` or ``siamcar`` checkpoint (a supernet is refused). Its text model is the one the
        checkpoint names if that is a known model, else ``text_model`` must be given. ``fast=False``: the reference
        path."""
        from vlt_mini.models.kinds import TRACKER_KINDS
        from vlt_mini.models.vlt import load_vlt_checkpoint

        model, data = load_vlt_checkpoint(checkpoint, kinds=TRACKER_KINDS, purpose="tracking")
        encoder = None
        if model.config.use_modamixer:
            from vlt_mini.models.text_encoder import TextEncoder, checkpoint_text_model

            encoder = TextEncoder(model=checkpoint_text_model(data, str(checkpoint), text_model), device=device)
            if encoder.dim != model.config.language_dim:
                raise ValueError(f"{checkpoint}: the network expects {model.config.language_dim}-d language "
                                 f"embeddings but text model {encoder.config.model!r} gives {encoder.dim}-d")
        tracker = cls(model, encoder, preset, use_language, device, fast=fast)
        from vlt_mini.tracking.provenance import file_digest

        tracker.checkpoint = {"path": str(Path(checkpoint).resolve()), "sha256": file_digest(checkpoint)}
        return tracker

    @classmethod
    def factory(cls, checkpoint: str | Path | None = None, preset: TrackerHyperParameters | str = "lasot",
                device: str = "cpu", use_language: bool = True, text_model: str | None = None, fast: bool = True):
        """A zero-argument builder for the runner; the checkpoint is loaded once and the model shared."""
        if checkpoint is None:
            raise ValueError("the vlt tracker needs --checkpoint (a model trained with `vlt-mini train`)")
        if isinstance(preset, str) and preset not in PRESETS:
            raise ValueError(f"unknown tracker preset {preset!r}; choose one of {', '.join(PRESETS)}")
        prototype = cls.from_checkpoint(checkpoint, preset, device, use_language, text_model, fast)

        def build() -> "VLTTracker":
            tracker = cls(prototype.model, prototype.text_encoder, prototype.hyper, use_language, device, fast=fast,
                          folded=prototype.folded)
            tracker.checkpoint = prototype.checkpoint
            return tracker

        return build

    def identity(self) -> dict:
        """The tracker, the digest of its weights (and the checkpoint it came from), its text model, hyper-parameters
        and language setting: what ``tracker.json`` records for the results it makes."""
        import dataclasses
        import hashlib

        digest = hashlib.sha256()
        for key, tensor in sorted(self.model.state_dict().items()):
            digest.update(key.encode() + b"\0" + tensor.detach().cpu().contiguous().numpy().tobytes())
        identity = {**super().identity(), "kind": "vlt" if self.model.config.use_modamixer else "siamcar",
                    "weights_sha256": digest.hexdigest(), "profile": self.model.config.profile,
                    "text_model": self.text_encoder.model_key if self.uses_language and self.text_encoder else None,
                    "hyper_parameters": dataclasses.asdict(self.hyper), "use_language": self.uses_language,
                    "fast_path": self.fast}
        if getattr(self, "checkpoint", None):
            identity["checkpoint"] = self.checkpoint
        return identity

    # ------------------------------------------------------------------ tracking
    def initialize(self, frame: np.ndarray, box: np.ndarray, sentence: str | None = None) -> None:
        with torch.inference_mode() if self.fast else torch.no_grad():
            self._initialize(frame, box, sentence)

    def _initialize(self, frame: np.ndarray, box: np.ndarray, sentence: str | None) -> None:
        box = check_init_box(box, frame.shape)
        x, y, w, h = box
        self.center = np.array([x + w / 2, y + h / 2])
        self.size = np.array([w, h], dtype=np.float64)
        self.frame_shape = frame.shape[:2]
        self.mean_colour = frame.reshape(-1, 3).mean(axis=0)
        window = template_window(box, self.template_size, self.hyper.context)
        z = to_tensor(crop(frame, window, self.mean_colour)).to(self.device)
        f_l = has_sentence = None
        config = self.model.config
        if config.use_modamixer:
            text = sentence if self.use_language else None
            if self.text_encoder is not None and text:
                f_l, has_sentence = self.text_encoder.encode([text])
                f_l, has_sentence = f_l.to(self.device), has_sentence.to(self.device)
            else:
                f_l = torch.zeros(1, config.language_dim, device=self.device)
                has_sentence = torch.zeros(1, dtype=torch.bool, device=self.device)
        z_box = torch.tensor(window.frame_to_crop(box), dtype=torch.float32, device=self.device)[None]
        self.state = self.model.encode_template(z, f_l, has_sentence, z_box)
        self._window_cache: dict[int, np.ndarray] = {}
        if self.fast and self.folded is not None:
            self.prepared = self.folded.prepare(self.state)

    def _hanning(self, size: int) -> np.ndarray:
        if size not in self._window_cache:
            hanning = np.hanning(size)
            self._window_cache[size] = np.outer(hanning, hanning)
        return self._window_cache[size]

    def track(self, frame: np.ndarray) -> np.ndarray:
        if self.fast:
            with torch.inference_mode():
                return self._track_fast(frame)
        with torch.no_grad():
            return self._track_reference(frame)

    def _network(self, x: torch.Tensor):
        if self.folded is not None:
            return self.folded(x, self.prepared)
        return self.model.forward_search(x, self.state)

    def _track_fast(self, frame: np.ndarray) -> np.ndarray:
        x, window = self._search_crop(frame)
        output = self._network(x)
        maps = torch.cat((output.cls[0], output.centerness[0], output.ltrb[0])).float().cpu().numpy()  # (7, H, W)
        return self._box_from_maps(maps, x, window)

    def _search_crop(self, frame: np.ndarray):
        """The search region around the last position: ((1, 3, S, S) float tensor, its ``CropWindow``)."""
        window = search_window(self.center, self.size, self.template_size, self.search_size, self.hyper.context)
        patch = crop(frame, window, self.mean_colour)
        # (1, 3, S, S) float, a channels-last view of the (S, S, 3) crop: no transposing copy
        return torch.from_numpy(patch).permute(2, 0, 1)[None].float().to(self.device), window

    def _box_from_maps(self, maps: np.ndarray, x: torch.Tensor, window) -> np.ndarray:
        """The fast path's decoding of the raw maps (7, H, W: cls logits, centerness logit, l, t, r, b) into a box."""
        hyper, scale = self.hyper, window.scale
        cls = 1.0 / (1.0 + np.exp(maps[0] - maps[1]))  # softmax(cls)[target] of two logits
        centerness = 1.0 / (1.0 + np.exp(-maps[2]))
        ltrb = maps[3:7]  # (4, H, W)
        centerness, score, penalty, penalised = self._scores(cls, centerness, ltrb[0] + ltrb[2], ltrb[1] + ltrb[3],
                                                             scale)

        cells = score.shape[0]
        up = (cells - 1) * self.stride + 1
        upsample = upsampling_matrix(cells, up)
        windowed = upsample_map(upsample, penalised) * (1 - hyper.window_influence)
        windowed += weighted_window(up, hyper.window_influence)
        row, col = divmod(int(np.argmax(windowed)), up)
        # the other maps are needed at the peak only: one row and one column of the upsampling
        size_weight = cls if hyper.size_lr_from == "cls" else score
        at_peak = np.einsum("i,kij,j->k", upsample[row], np.stack((size_weight, penalty, *ltrb)), upsample[col])
        weight_peak, penalty_peak = at_peak[0], at_peak[1]

        px, py = self.offset + col, self.offset + row
        left, top, right, bottom = np.maximum(at_peak[2:6], 0.0)
        crop_box = np.array([px - left, py - top, px + right, py + bottom])
        self._update(window.crop_to_frame(crop_box), window.crop_to_frame(np.array([px, py, px, py]))[:2],
                     float(np.clip(penalty_peak * weight_peak * hyper.lr, 0.0, 1.0)))
        self.last = {"score": score, "penalty": penalty, "penalised": penalised, "cls": cls,
                     "centerness": centerness, "windowed": windowed, "peak": (row, col), "window": window,
                     "search_crop": x}
        return np.array([self.center[0] - self.size[0] / 2, self.center[1] - self.size[1] / 2, *self.size])

    def _scores(self, cls: np.ndarray, centerness: np.ndarray, widths: np.ndarray, heights: np.ndarray,
                scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Both paths' score maps: centerness normalised to [0, 1] (SiamCAR; a flat map carries no information),
        score = cls × centerness, the scale / ratio change penalty against the current size in crop pixels, and
        the penalised score. Returns (centerness, score, penalty, penalised)."""
        low, high = centerness.min(), centerness.max()
        spread = float(high - low)
        centerness = (centerness - low) / spread if spread > 1e-12 else np.ones_like(centerness)
        scale_change = _change(_padded_side(widths, heights) / _padded_side(*(self.size * scale)))
        ratio_change = _change((self.size[0] / self.size[1]) / np.maximum(widths / np.maximum(heights, 1e-6), 1e-6))
        penalty = np.exp(-(ratio_change * scale_change - 1) * self.hyper.penalty_k)
        score = cls * centerness
        return centerness, score, penalty, penalty * score

    def _update(self, new_box: np.ndarray, peak: np.ndarray, lr: float) -> None:
        """Move to the peak (frame pixels) or the new box's centre (``center_from``), smooth the size with ``lr``,
        clamp to the frame."""
        x_new, y_new, w_new, h_new = new_box
        width = self.size[0] * (1 - lr) + w_new * lr
        height = self.size[1] * (1 - lr) + h_new * lr
        center = peak if self.hyper.center_from == "peak" else np.array([x_new + w_new / 2, y_new + h_new / 2])
        frame_h, frame_w = self.frame_shape
        self.center = np.clip(np.asarray(center, dtype=np.float64), [0, 0], [frame_w, frame_h])
        self.size = np.clip([width, height], self.hyper.min_size, [frame_w, frame_h])

    def _track_reference(self, frame: np.ndarray) -> np.ndarray:
        hyper = self.hyper
        window = search_window(self.center, self.size, self.template_size, self.search_size, hyper.context)
        scale = window.scale  # crop pixels per frame pixel
        x = to_tensor(crop(frame, window, self.mean_colour)).to(self.device)
        output = self.model.forward_search(x, self.state)
        cls = torch.softmax(output.cls, dim=1)[0, 1].cpu().numpy()           # (H, W)
        centerness = torch.sigmoid(output.centerness)[0, 0].cpu().numpy()   # (H, W)
        ltrb = output.ltrb[0].permute(1, 2, 0).cpu().numpy()                 # (H, W, 4) crop pixels
        centerness, score, penalty, penalised = self._scores(cls, centerness, ltrb[..., 0] + ltrb[..., 2],
                                                             ltrb[..., 1] + ltrb[..., 3], scale)

        # upsample to one cell per crop pixel (SiamCAR), then the cosine window. SiamCAR uses cv2.resize, which
        # aligns pixel centres and so misplaces the peak by up to half a cell; align-corners keeps pixel u at cell
        # u / stride exactly.
        cells = score.shape[0]
        up = (cells - 1) * self.stride + 1
        size_weight = cls if hyper.size_lr_from == "cls" else score  # official: the target probability alone
        maps = torch.from_numpy(np.concatenate([np.stack([penalised, size_weight, penalty]),
                                                ltrb.transpose(2, 0, 1)]))
        maps = torch.nn.functional.interpolate(maps[None].float(), size=(up, up), mode="bicubic", align_corners=True)[0]
        penalised_up, weight_up, penalty_up = maps[0].numpy(), maps[1].numpy(), maps[2].numpy()
        ltrb_up = maps[3:].permute(1, 2, 0).numpy()
        windowed = penalised_up * (1 - hyper.window_influence) + self._hanning(up) * hyper.window_influence
        row, col = np.unravel_index(int(np.argmax(windowed)), windowed.shape)

        px, py = self.offset + col, self.offset + row  # crop pixel of the peak
        left, top, right, bottom = np.maximum(ltrb_up[row, col], 0.0)
        crop_box = np.array([px - left, py - top, px + right, py + bottom])
        lr = float(np.clip(penalty_up[row, col] * weight_up[row, col] * hyper.lr, 0.0, 1.0))
        # the size moves by lr toward the peak's box; the centre goes to the peak's pixel (or the box's centre)
        self._update(window.crop_to_frame(crop_box), window.crop_to_frame(np.array([px, py, px, py]))[:2], lr)
        self.last = {"score": score, "penalty": penalty, "penalised": penalised, "cls": cls,
                     "centerness": centerness, "windowed": windowed, "peak": (row, col), "window": window,
                     "search_crop": x}
        return np.array([self.center[0] - self.size[0] / 2, self.center[1] - self.size[1] / 2, *self.size])


def track_in_lockstep(trackers: list[VLTTracker], sequences) -> list[np.ndarray]:
    """Track several videos at once with fast-path trackers that share one ``FoldedSearchBranch``: per frame step one
    batched network call over the videos that still have frames, each tracker's own crop and decoding.

    Returns one (N, 4) box array per video (row 0 the initial box), as ``track_sequence`` would; used by the search,
    whose fitness tracks every validation video with the same candidate. Batched and one-at-a-time convolutions round
    differently, so boxes can part from ``track_sequence``'s the way any float-rounding change does
    (``tracking/agreement.py``)."""
    if len(trackers) != len(sequences):
        raise ValueError(f"{len(trackers)} trackers for {len(sequences)} videos")
    folded = trackers[0].folded if trackers else None
    if folded is None or any(not t.fast or t.folded is not folded for t in trackers):
        raise ValueError("lockstep tracking needs fast-path VLT trackers sharing one folded network")
    boxes = [np.zeros((len(s), 4)) for s in sequences]
    readers = [s.frames(read_ahead=2) for s in sequences]
    stacked: dict[tuple[int, ...], object] = {}
    with torch.inference_mode():
        for tracker, sequence, reader, out in zip(trackers, sequences, readers, boxes):
            tracker.initialize(next(reader), sequence.init_box, sequence.sentence)
            out[0] = sequence.init_box
        for step in range(1, max((len(s) for s in sequences), default=0)):
            active = tuple(i for i, s in enumerate(sequences) if step < len(s))
            if active not in stacked:
                stacked = {active: folded.stack([trackers[i].prepared for i in active])}
            crops = [trackers[i]._search_crop(next(readers[i])) for i in active]
            x = torch.cat([c[0] for c in crops])
            output = folded(x, stacked[active])
            maps = torch.cat((output.cls, output.centerness, output.ltrb), 1).float().cpu().numpy()  # (B, 7, H, W)
            for row, (i, (crop_tensor, window)) in enumerate(zip(active, crops)):
                boxes[i][step] = trackers[i]._box_from_maps(maps[row], crop_tensor, window)
    return boxes
