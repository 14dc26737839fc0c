"""Writing results and checkpoints so that nothing is ever half-written, loading checkpoints safely, and where the
project and its generated data live."""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any


_UMASK = os.umask(0)
os.umask(_UMASK)


def _atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; results should read like any other file
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename it into place."""
    _atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename it into place."""
    _atomic_write_bytes(path, data)


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` through a temporary file and a rename: a crash never leaves a truncated checkpoint."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    _atomic_write_bytes(path, buffer.getvalue())


def check_output_folder(path: str | Path, flag: str = "--out", create: bool = True) -> Path:
    """Check, before any work, that ``path`` is (or can become) a folder files can be written in; create it unless
    ``create`` is False (then it is created when the results are written)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{flag} {path} is a file, not a folder; choose a folder")
    parent = next((p for p in [path, *path.parents] if p.exists()), Path("."))
    if not parent.is_dir():
        raise NotADirectoryError(f"{flag} {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"{flag} {path}: no permission to write in {parent}; choose a folder you can write to")
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


_TORCH_HEADERS = (b"PK\x03\x04", b"\x80")  # a zip archive (torch >= 1.6) or a legacy pickle


def load_checkpoint(path: str | Path, map_location: str = "cpu") -> Any:
    """Load a checkpoint with ``weights_only=True`` (no arbitrary code runs); a clear error naming the file if it is
    missing, not a PyTorch file, truncated or refused."""
    import torch

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint {path} is a folder; give its model_final.pt (or checkpoint_last.pt)")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    with path.open("rb") as stream:
        head = stream.read(64)
    if not head:
        raise ValueError(f"checkpoint {path} is empty (0 bytes): an interrupted copy? Give a checkpoint written by "
                         "`vlt-mini train`")
    if not head.startswith(_TORCH_HEADERS):
        printable = head[:24].decode("utf-8", "replace")
        raise ValueError(f"{path} is not a PyTorch checkpoint (it starts with {printable!r}); give model_final.pt or "
                         "checkpoint_last.pt of a `vlt-mini train` run")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several types for corrupt or unsafe files
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "Weights only load failed" in str(error) or "weights_only" in str(error):
            raise ValueError(f"refused to load {path}: it holds objects other than tensors and plain values, which "
                             "could run code when loaded (vlt-mini checkpoints never do); do not use it") from None
        raise ValueError(f"cannot read checkpoint {path}: truncated or corrupt ({text}); use another copy or "
                         "retrain") from None


def project_root(start: Path | None = None) -> Path | None:
    """The vlt-mini checkout containing ``start`` (default: the working directory), or None when installed elsewhere."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "vlt_mini").is_dir():
            return folder
    return None


def data_dir() -> Path:
    """Where generated data and runs go: ``$VLT_MINI_DATA``, else the checkout's ``data/``, else ``~/.cache/vlt-mini``."""
    if os.environ.get("VLT_MINI_DATA"):
        return Path(os.environ["VLT_MINI_DATA"]).expanduser()
    root = project_root()
    return root / "data" if root else Path.home() / ".cache" / "vlt-mini" / "data"
