"""One arm of two ``vlt-mini study`` folders compared paired: a training variant against the default recipe.

``vlt-mini study`` compares arms that share their trainings (the same network tracked differently). A change of the
*training* (e.g. every issue-13 fidelity fix switched off) is a second study folder made with training overrides;
this script pairs the two folders' runs of one arm per (seed, video) and prints the difference with the hierarchical
bootstrap's 95 % interval (``vlt_mini.evaluation.statistics``), and SUC per seed.

    vlt-mini study --out runs/study-cpu --split val --kinds vlt --arms vlt-mini --seeds 0,1,2
    vlt-mini study --out runs/study-cpu-prefixes --split val --kinds vlt --arms vlt-mini --seeds 0,1,2 \\
        model.shared_mixers=false pairs.per_axis_scale=false train.loss.box_loss=log_iou
    python benchmarks/compare_studies.py runs/study-cpu runs/study-cpu-prefixes --split val --arm vlt-mini \\
        --root data/mini-lasot-v2-cpu-seed0 --seeds 0,1,2
"""
from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study_a", type=Path)
    parser.add_argument("study_b", type=Path)
    parser.add_argument("--split", default="val")
    parser.add_argument("--arm", default="vlt-mini", help="the arm's folder name (its slug)")
    parser.add_argument("--arm-b", default=None,
                        help="the arm of study_b, when it differs (e.g. --arm vlt-mini --arm-b siamcar)")
    parser.add_argument("--root", type=Path, required=True, help="the dataset root both studies used")
    parser.add_argument("--dataset", default="mini-lasot")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()

    from vlt_mini.data import open_dataset
    from vlt_mini.evaluation.statistics import compare_trackers
    from vlt_mini.experiments.study import parse_seeds, scores_per_video

    sequences = open_dataset(args.dataset, args.root, args.split)
    seeds = parse_seeds(args.seeds)
    sides = ((args.study_a, args.arm), (args.study_b, args.arm_b or args.arm))
    if sides[0] == sides[1]:
        parser.error("compare two studies, or two arms of one study")
    scores = {}
    for side, (study, arm) in enumerate(sides):
        scores[side] = {}
        for seed in seeds:
            folder = study / args.split / arm / f"seed{seed}"
            if not folder.is_dir():
                parser.error(f"no results folder {folder}")
            result, per_video = scores_per_video(sequences, folder)
            scores[side].update({(seed, video): suc for video, suc in per_video.items()})
            print(f"{study} {arm} seed {seed}: SUC {result['suc']:.1f}")
    comparison = compare_trackers(scores[0], scores[1])
    what = args.arm if not args.arm_b else f"{args.arm} − {args.arm_b}"
    print(f"{what} on {args.split}: {args.study_a} − {args.study_b} = {comparison.delta:+.2f} SUC, 95 % interval "
          f"[{comparison.ci_low:+.2f}, {comparison.ci_high:+.2f}] ({comparison.seeds} seeds × {comparison.videos} videos)")


if __name__ == "__main__":
    main()
