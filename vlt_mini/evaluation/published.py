"""The paper's published numbers, typed in by hand from "Divert More Attention to Vision-Language Tracking"
(Guo et al., NeurIPS 2022): Table 2 (state of the art on LaSOT, LaSOT_ext, TNL2K, GOT-10k, OTB99-LANG) and the
ablations of Tables 3, 4, 5, 7 and 8. Scores are in percent; ``None`` where the paper leaves a cell empty.

They are data for comparison (the leaderboard, paper-vs-ours tables), never inputs to any computation.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


@dataclass(frozen=True)
class PublishedResult:
    """One row of Table 2."""

    method: str
    type: str                      # CNN, CNN-VL, Transformer, Transformer-VL
    lasot_suc: float | None
    lasot_p: float | None
    lasot_ext_suc: float | None
    lasot_ext_p: float | None
    tnl2k_suc: float | None
    tnl2k_p: float | None
    got10k_ao: float | None
    got10k_sr50: float | None
    got10k_sr75: float | None
    otb99l_suc: float | None
    otb99l_p: float | None


@dataclass(frozen=True)
class AblationRow:
    """One row of an ablation table (LaSOT and TNL2K: SUC, P_norm, P)."""

    table: str                     # "3", "4", "5a", "5b", "5c", "7", "8a", "8b"
    row: int
    setting: str
    lasot_suc: float | None
    lasot_pnorm: float | None
    lasot_p: float | None
    tnl2k_suc: float | None
    tnl2k_pnorm: float | None
    tnl2k_p: float | None


_ = None
R = PublishedResult
# Table 2.  method, type, LaSOT SUC / P, LaSOT_ext SUC / P, TNL2K SUC / P, GOT-10k AO / SR0.5 / SR0.75, OTB99-L SUC / P
TABLE2: tuple[PublishedResult, ...] = (
    R("SiamRCNN", "CNN", 64.8, 68.4, _, _, 52.3, 52.8, 64.9, 72.8, 59.7, 70.0, 89.4),
    R("PrDiMP", "CNN", 59.8, 60.8, _, _, 47.0, 45.9, 63.4, 73.8, 54.3, 69.5, 89.5),
    R("AutoMatch", "CNN", 58.3, 59.9, 37.6, 43.0, 47.2, 43.5, 65.2, 76.6, 54.3, 71.6, 93.2),
    R("Ocean", "CNN", 56.0, 56.6, _, _, 38.4, 37.7, 61.1, 72.1, 47.3, 68.0, 92.1),
    R("KYS", "CNN", 55.4, _, _, _, 44.9, 43.5, 63.6, 75.1, 51.5, _, _),
    R("ATOM", "CNN", 51.5, 50.5, 37.6, 43.0, 40.1, 39.2, 55.6, 63.4, 40.2, 67.6, 82.4),
    R("SiamRPN++", "CNN", 49.6, 49.1, 34.0, 39.6, 41.3, 41.2, 51.7, 61.6, 32.5, 63.8, 82.6),
    R("C-RPN", "CNN", 45.5, 42.5, 27.5, 32.0, _, _, _, _, _, _, _),
    R("SiamFC", "CNN", 33.6, 33.9, 23.0, 26.9, 29.5, 28.6, 34.8, 35.3, 9.8, 58.7, 79.2),
    R("ECO", "CNN", 32.4, 30.1, 22.0, 24.0, _, _, 31.6, 30.9, 11.1, _, _),
    R("SiamCAR", "CNN", 50.7, 51.0, 33.9, 41.0, 35.3, 38.4, 56.9, 67.0, 41.5, 68.8, 89.1),
    R("SNLT", "CNN-VL", 54.0, 57.6, 26.2, 30.0, 27.6, 41.9, 43.3, 50.6, 22.1, 66.6, 80.4),
    R("VLT_SCAR (0-tensor)", "CNN-VL", 65.2, 69.1, 41.2, 47.5, 48.3, 46.6, 61.4, 72.4, 52.3, 72.7, 88.8),
    R("VLT_SCAR (template)", "CNN-VL", 63.9, 67.9, 44.7, 51.6, 49.8, 51.1, 61.0, 70.8, 52.2, 73.9, 89.8),
    R("STARK", "Transformer", 66.4, 71.2, 47.8, 55.1, _, _, 68.0, 77.7, 62.3, 69.6, 91.4),
    R("TrDiMP", "Transformer", 63.9, 66.3, _, _, _, _, 67.1, 77.7, 58.3, 70.5, 92.5),
    R("TransT", "Transformer", 64.9, 69.0, 44.8, 52.5, 50.7, 51.7, 67.1, 76.8, 60.9, 70.8, 91.2),
    R("VLT_TT (0-tensor)", "Transformer-VL", 66.3, 70.5, 45.4, 52.1, 52.2, 52.1, 68.4, 81.5, 62.4, 74.7, 91.2),
    R("VLT_TT (template)", "Transformer-VL", 67.3, 72.1, 48.4, 55.9, 53.1, 53.3, 69.4, 81.1, 64.5, 76.4, 93.1),
)

A = AblationRow
# Tables 3, 4, 5 (a, b, c), 7, 8 (a, b).  table, row, setting, LaSOT SUC / P_norm / P, TNL2K SUC / P_norm / P
ABLATIONS: tuple[AblationRow, ...] = (
    A("3", 1, "baseline SiamCAR (no ModaMixer; no ASS)", 50.7, 60.0, 51.0, 35.3, 43.6, 38.4),
    A("3", 2, "+ModaMixer", 57.6, 65.8, 61.1, 41.5, 49.2, 43.2),
    A("3", 3, "+ASS (vision only)", 52.1, 59.8, 50.6, 40.7, 47.2, 40.2),
    A("3", 4, "+ModaMixer +ASS (VLT_SCAR)", 65.2, 74.9, 69.1, 48.3, 55.2, 46.6),
    A("4", 1, "VLT_SCAR 0-tensor with language", 65.2, 74.9, 69.1, 48.3, 55.2, 46.6),
    A("4", 2, "VLT_SCAR 0-tensor without language", 50.8, 57.9, 52.6, 39.5, 47.1, 41.2),
    A("4", 3, "VLT_SCAR 0-tensor pseudo (caption) language", 53.1, 60.4, 55.0, 38.1, 45.7, 39.6),
    A("4", 4, "VLT_SCAR template with language", 63.9, 73.3, 67.9, 49.8, 58.3, 51.1),
    A("4", 5, "VLT_SCAR template without language", 53.4, 60.7, 54.6, 41.1, 49.1, 42.9),
    A("4", 6, "VLT_SCAR template pseudo (caption) language", 51.6, 58.1, 53.4, 38.8, 46.6, 40.5),
    A("5a", 1, "symmetrical search (template setting)", 60.0, _, 61.7, _, _, _),
    A("5a", 2, "asymmetrical search (template setting)", 63.9, _, 67.9, _, _, _),
    A("5b", 1, "fixed Shuffle block in ModaMixer", 59.1, _, 62.2, _, _, _),
    A("5b", 2, "searched (NAS) block in ModaMixer", 63.9, _, 67.9, _, _, _),
    A("5c", 1, "ModaMixer without residual", 61.1, _, 63.6, _, _, _),
    A("5c", 2, "ModaMixer with residual", 63.9, _, 67.9, _, _, _),
    A("7", 1, "SiamRPN++", 49.6, 56.9, 49.1, 41.3, 48.2, 41.2),
    A("7", 2, "VLT_RPN++", 59.0, 68.4, 62.6, 45.8, 54.2, 47.4),
    A("8a", 1, "50% language-annotated training pairs", 58.9, _, 61.4, _, _, _),
    A("8a", 2, "75% language-annotated training pairs", 61.8, _, 64.9, _, _, _),
    A("8a", 3, "100% language-annotated training pairs", 63.9, _, 67.9, _, _, _),
    A("8b", 1, "GPT-2 language model", 59.3, _, 62.3, _, _, _),
    A("8b", 2, "BERT language model", 63.9, _, 67.9, _, _, _),
)
del _, R, A

TABLE2_COLUMNS = tuple(field.name for field in fields(PublishedResult))
ABLATION_COLUMNS = tuple(field.name for field in fields(AblationRow))


def published(method: str) -> PublishedResult:
    """The Table 2 row of ``method`` (exact name, e.g. ``"SiamRPN++"`` or ``"VLT_SCAR (0-tensor)"``)."""
    for row in TABLE2:
        if row.method == method:
            return row
    raise KeyError(f"no method {method!r} in Table 2; choose one of {', '.join(row.method for row in TABLE2)}")


def ablation_table(table: str) -> list[AblationRow]:
    """The rows of one ablation table (``"3"``, ``"4"``, ``"5a"`` ... ``"8b"``)."""
    rows = [row for row in ABLATIONS if row.table == str(table)]
    if not rows:
        raise KeyError(f"no ablation table {table!r}; choose one of {', '.join(sorted({r.table for r in ABLATIONS}))}")
    return rows


# ---------------------------------------------------------------------------------------------------------------
# The leaderboard: evaluated trackers placed among Table 2 by LaSOT SUC


@dataclass(frozen=True)
class LeaderboardEntry:
    method: str
    type: str
    suc: float
    prec: float | None
    ours: bool                     # True for a tracker evaluated here (not a number copied from the paper)


def leaderboard(scores: dict, table: tuple[PublishedResult, ...] = TABLE2) -> list[LeaderboardEntry]:
    """Table 2's LaSOT column plus the evaluated trackers (``scores["trackers"]`` as ``evaluate_trackers`` returns
    it), sorted by SUC, best first."""
    entries = [LeaderboardEntry(row.method, row.type, row.lasot_suc, row.lasot_p, False)
               for row in table if row.lasot_suc is not None]
    for name, result in scores.get("trackers", {}).items():
        entries.append(LeaderboardEntry(name, "evaluated here", float(result["suc"]), float(result["prec"]), True))
    return sorted(entries, key=lambda entry: (-entry.suc, entry.ours))


def format_leaderboard(scores: dict, table: tuple[PublishedResult, ...] = TABLE2) -> str:
    """A printable leaderboard: rank, method, type, LaSOT SUC and P; trackers evaluated here are marked ``*``."""
    entries = leaderboard(scores, table)
    width = max([len(entry.method) for entry in entries] + [6]) + 2
    lines = [
        "LaSOT leaderboard: the paper's Table 2 (published) with the trackers evaluated here (*)",
        f"{'#':>3}  {'method':<{width}}{'type':<16}{'SUC':>7}{'P':>7}",
    ]
    for rank, entry in enumerate(entries, start=1):
        precision = "-" if entry.prec is None or np.isnan(entry.prec) else f"{entry.prec:.1f}"
        marker = "*" if entry.ours else " "
        lines.append(f"{rank:>3}{marker} {entry.method:<{width}}{entry.type:<16}{entry.suc:>7.1f}{precision:>7}")
    return "\n".join(lines)
