"""vlt-mini: a notebook-first reproduction of "Divert More Attention to Vision-Language Tracking" (VLT, NeurIPS 2022).

One folder a phase of the pipeline (a module imports only from its own phase or an earlier one):

- ``data``: the ``Sequence`` type, readers (LaSOT, TNL2K, OTB99-LANG, GOT-10k), the synthetic mini-LaSOT, crops
- ``models``: SPOS supernet, BERT text encoder, ModaMixer, candidate, SiamCAR head and losses, the VLT network
- ``training``: training pairs, the trainer, recipes, BN recalibration, checkpoints
- ``tracking``: the tracker interface and registry, baselines, the SiamCAR / VLT tracker, the runner
- ``evaluation``: one-pass evaluation (OPE), reports, plots, the paper's tables
- ``search``: the asymmetrical architecture search (evolution, fitness)
- ``experiments``: the paper's ablations, the demo, insight figures, the explorer

Beside them: ``profiles`` (every profile's numbers), ``config`` (overrides), ``io`` (atomic writes, safe loading),
``notebook`` (what every notebook does first) and ``cli`` (the ``vlt-mini`` command).
"""

__version__ = "0.1.0"
