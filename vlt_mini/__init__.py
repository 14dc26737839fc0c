"""vlt-mini: a notebook-first reproduction of "Divert More Attention to Vision-Language Tracking" (VLT, NeurIPS 2022).

Where each paper concept lives:

- data in LaSOT's layout, readers and the synthetic mini-LaSOT: ``vlt_mini.data``
- trackers (baselines, SiamCAR / VLT) and the runner:             ``vlt_mini.tracking``, ``vlt_mini.tracking.runner``
- one-pass evaluation (OPE), plots, the paper's tables:           ``vlt_mini.evaluation``
- language (BERT sentence embedding):                             ``vlt_mini.models.text_encoder``
- SPOS supernet, ModaMixer, VLT network, SiamCAR head:            ``vlt_mini.models``
"""

__version__ = "0.1.0"
