"""Trackers: the common interface, baselines, and (from ``vlt_mini.tracker``) SiamCAR / VLT."""
from vlt_mini.trackers.base import Tracker, check_init_box

__all__ = ["Tracker", "check_init_box"]
