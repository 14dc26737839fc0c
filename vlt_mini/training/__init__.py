"""Training: template / search pairs, the SiamCAR / VLT / supernet trainer, checkpoints, DDP and loss curves."""
from vlt_mini.training.budget import CandidateBudget
from vlt_mini.training.pairs import (PairConfig, PairDataset, PairSampler, PairSource, SentenceTable,
                                     make_pair_loader)
from vlt_mini.training.recipes import train_model
from vlt_mini.training.trainer import (MODEL_KINDS, Trainer, TrainConfig, TrainingDiverged, TrainingSetup,
                                       siamcar_learning_rate)

__all__ = ["CandidateBudget", "MODEL_KINDS", "PairConfig", "PairDataset", "PairSampler", "PairSource", "SentenceTable",
           "Trainer", "TrainConfig", "TrainingDiverged", "TrainingSetup", "make_pair_loader", "siamcar_learning_rate",
           "train_model"]
