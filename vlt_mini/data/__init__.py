"""Datasets: the ``Sequence`` type, readers for LaSOT / TNL2K / OTB99-LANG / GOT-10k, and the synthetic mini-LaSOT."""
from vlt_mini.data.registry import DATASETS, Dataset, open_dataset, resolve_root
from vlt_mini.data.sequence import LASOT_ATTRIBUTE_NAMES, LASOT_ATTRIBUTES, Sequence
from vlt_mini.data.textio import DataFormatError, read_boxes, read_flags, read_sentence

__all__ = [
    "DATASETS",
    "Dataset",
    "DataFormatError",
    "LASOT_ATTRIBUTES",
    "LASOT_ATTRIBUTE_NAMES",
    "Sequence",
    "open_dataset",
    "read_boxes",
    "read_flags",
    "read_sentence",
    "resolve_root",
]
