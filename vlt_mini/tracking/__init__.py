"""Trackers: the common interface, the registry, and baselines. SiamCAR / VLT are registered from ``vlt_mini.tracking.tracker``.

``make_tracker(name, **options)`` builds a tracker by name; ``TRACKERS`` lists the names.
"""
from __future__ import annotations

import importlib
from typing import Callable

from vlt_mini.tracking.base import Tracker, check_init_box

# name -> (module, class or factory, description)
TRACKERS: dict[str, tuple[str, str, str]] = {
    "static": ("vlt_mini.tracking.baselines", "StaticBoxTracker", "the first box on every frame"),
    "mil": ("vlt_mini.tracking.baselines", "OpenCVMILTracker", "OpenCV's MIL tracker"),
    "vlt": ("vlt_mini.tracking.tracker", "VLTTracker", "a trained VLT network (--checkpoint); SiamCAR when it has no ModaMixer"),
    "siamcar": ("vlt_mini.tracking.tracker", "VLTTracker", "the same tracker, for a vision-only checkpoint"),
}


def make_tracker(name: str, **options) -> Tracker:
    """Build the tracker registered as ``name`` with keyword ``options`` (e.g. ``checkpoint=...``)."""
    return tracker_factory(name, **options)()


def tracker_factory(name: str, **options) -> Callable[[], Tracker]:
    """A zero-argument callable that builds a fresh tracker (one per sequence)."""
    if name not in TRACKERS:
        raise ValueError(f"unknown tracker {name!r}; choose one of {', '.join(TRACKERS)}")
    module_name, attribute, _ = TRACKERS[name]
    target = getattr(importlib.import_module(module_name), attribute)
    if hasattr(target, "factory"):
        return target.factory(**options)
    if options:
        unknown = ", ".join(sorted(options))
        raise ValueError(f"tracker {name!r} takes no options (got {unknown})")
    return target


__all__ = ["TRACKERS", "Tracker", "check_init_box", "make_tracker", "tracker_factory"]
