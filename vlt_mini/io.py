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


def load_checkpoint(path: str | Path, map_location: str = "cpu") -> Any:
    """Load a checkpoint with ``weights_only=True`` (no arbitrary code runs); a clear error if it is missing."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several types for corrupt or unsafe files
        raise ValueError(f"cannot load checkpoint {path}: {error}") from error


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
