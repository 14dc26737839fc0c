"""Dataclass configs: the profile in force, dotted ``key=value`` overrides, saving a config as JSON.

Every component keeps a small config dataclass next to its code, with a ``for_profile(name)`` constructor that reads
the named profile's section of ``vlt_mini.profiles`` (``tiny`` for CI, ``cpu`` for a laptop, ``paper`` for a GPU).
Profiles change sizes and counts, never code paths.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from vlt_mini.profiles import PROFILES, check_profile

PROFILE_ENV_VAR = "VLT_MINI_PROFILE"
__all__ = ["PROFILES", "PROFILE_ENV_VAR", "apply_overrides", "check_profile", "config_to_dict", "get_profile",
           "save_config"]


def get_profile(default: str = "tiny") -> str:
    """The profile notebooks and demos run at: ``$VLT_MINI_PROFILE`` if set, else ``default``."""
    value = os.environ.get(PROFILE_ENV_VAR, "").strip() or default
    try:
        return check_profile(value)
    except ValueError as error:
        raise ValueError(f"${PROFILE_ENV_VAR}: {error}") from None


def _coerce(value: str, current: Any, key: str) -> Any:
    """Parse the text of a ``--key=value`` override into the type of the field's current value."""
    if isinstance(current, bool):
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"override {key}={value!r}: expected a boolean")
    if isinstance(current, (int, float, str)) or current is None:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        if current is None:
            return parsed
        if isinstance(current, float) and isinstance(parsed, int):
            parsed = float(parsed)
        if not isinstance(parsed, type(current)) or isinstance(parsed, bool) != isinstance(current, bool):
            raise ValueError(f"override {key}={value!r}: expected {type(current).__name__}")
        return parsed
    if isinstance(current, (tuple, list)):
        try:
            parsed = json.loads(value if value.strip().startswith("[") else f"[{value}]")
        except json.JSONDecodeError:
            raise ValueError(f"override {key}={value!r}: expected a list like 1,2,3") from None
        return type(current)(parsed)
    raise ValueError(f"override {key}: cannot set a field of type {type(current).__name__} from the command line")


def apply_overrides(config: Any, overrides: list[str] | tuple[str, ...]) -> Any:
    """Return a copy of dataclass ``config`` with dotted ``key=value`` overrides applied (``model.width=32``).

    Unknown keys and values of the wrong type raise a ValueError naming the override.
    """
    for item in overrides:
        key, sep, value = item.lstrip("-").partition("=")
        if not sep:
            raise ValueError(f"override {item!r}: expected key=value")
        config = _set_dotted(config, key.split("."), value, key)
    return config


def _set_dotted(config: Any, parts: list[str], value: str, full_key: str) -> Any:
    if not dataclasses.is_dataclass(config):
        raise ValueError(f"override {full_key}: {parts[0]!r} is not a config section")
    names = {field.name for field in dataclasses.fields(config)}
    if parts[0] not in names:
        raise ValueError(f"override {full_key}: unknown key {parts[0]!r} (known: {', '.join(sorted(names))})")
    current = getattr(config, parts[0])
    if len(parts) == 1:
        return dataclasses.replace(config, **{parts[0]: _coerce(value, current, full_key)})
    return dataclasses.replace(config, **{parts[0]: _set_dotted(current, parts[1:], value, full_key)})


def config_to_dict(config: Any) -> dict:
    """A JSON-ready dict of a (nested) dataclass config."""
    return json.loads(json.dumps(dataclasses.asdict(config), default=str))


def save_config(config: Any, path: str | Path) -> None:
    """Write ``config`` as JSON, atomically."""
    from vlt_mini.io import atomic_write_text

    atomic_write_text(path, json.dumps(config_to_dict(config), indent=2) + "\n")
