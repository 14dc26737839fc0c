"""Issue 13's fidelity fixes, each measured paired: one-step IoU, size ratio and size slope on validation frames.

Trains (or reuses, ``train_model``) one network per variant with one seed: ``official`` (every default, the official
behaviour), ``old`` (every fix off: vlt-mini before issue 13), and one per fix with only that fix off. The test-time
kernel needs no training: each trained network is also scored with ``head.test_kernel=cropped`` (the earlier
unresampled crop) and ``training`` (the training kernel at test). Every figure is on the same validation frames;
differences are paired per frame, with a 95 % bootstrap interval over videos. With ``--language`` it also prints
the language-use diagnostic (own / no / another video's sentence) and the selector statistics of each VLT variant.

    python benchmarks/bench_fidelity.py --profile tiny --out /tmp/fidelity-tiny
    python benchmarks/bench_fidelity.py --profile cpu --variants '' --checkpoint earlier=runs/vlt-cpu/model_final.pt
    OMP_NUM_THREADS=1 python benchmarks/bench_fidelity.py --profile cpu --root data/mini-lasot-cpu-seed0 \\
        --out runs/fidelity-cpu --variants official,old --language

One seed per variant: a training is chaotic (issue 13), so a single pair of trainings shows the size of an effect,
not its sign with confidence; the multi-seed study does that.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

FIXES = {  # variant -> the overrides that turn its fix off (the earlier behaviour)
    "shared-mixers": ("model.shared_mixers=false",),
    "per-axis-jitter": ("pairs.per_axis_scale=false",),
    "ciou": ("train.loss.box_loss=log_iou",),
}
VARIANTS = {"official": (), "old": tuple(o for overrides in FIXES.values() for o in overrides),
            **{f"without-{name}": overrides for name, overrides in FIXES.items()}}
TEST_KERNELS = ("resampled", "cropped", "training")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="tiny", choices=("tiny", "cpu", "paper"))
    parser.add_argument("--root", type=Path, help="mini-LaSOT root (default: generated for the profile)")
    parser.add_argument("--out", type=Path, help="folder for the trainings (reused when present)")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="NAME=PATH",
                        help="also score a trained network (e.g. one of the earlier layout), repeatable")
    parser.add_argument("--variants", default="official,old," + ",".join(f"without-{n}" for n in FIXES),
                        help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frames-per-video", type=int, default=10)
    parser.add_argument("--language", action="store_true", help="also the language-use diagnostic")
    parser.add_argument("--override", action="append", default=[], help="extra training override for every variant")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"--variants: unknown {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    if variants and args.out is None:
        parser.error("--out is needed to train the variants")
    extra = dict(item.split("=", 1) for item in args.checkpoint if "=" in item)
    if len(extra) != len(args.checkpoint) or not all(Path(path).is_file() for path in extra.values()):
        parser.error(f"--checkpoint: expected NAME=PATH of existing files, got {args.checkpoint}")

    from vlt_mini.data import open_dataset
    from vlt_mini.experiments import diagnostics
    from vlt_mini.experiments.ablations import default_root
    from vlt_mini.models.text_encoder import TextEncoder
    from vlt_mini.models.vlt import load_vlt_checkpoint
    from vlt_mini.training.recipes import train_model

    root = default_root("mini-lasot", args.root, args.profile)
    encoder = TextEncoder()
    frames = diagnostics.validation_frames(open_dataset("mini-lasot", root, "val"), args.frames_per_video)
    print(f"profile {args.profile}, seed {args.seed}, {len(frames)} validation frames "
          f"of {len({s.name for s, _ in frames})} videos; torch threads {torch.get_num_threads()}")
    results, models = {}, {}
    for variant in [*variants, *extra]:
        start = time.perf_counter()
        checkpoint = extra.get(variant) or train_model(
            "vlt", root, args.out / variant, args.profile, args.seed, overrides=[*VARIANTS[variant], *args.override],
            progress=False, text_encoder=encoder)
        model, _ = load_vlt_checkpoint(checkpoint)
        models[variant] = model
        trained = time.perf_counter() - start
        for kernel in TEST_KERNELS:
            results[variant, kernel] = diagnostics.one_step(diagnostics.with_test_kernel(model, kernel), frames, encoder)
        results[variant, "resampled-exact"] = diagnostics.one_step(model, frames, encoder, geometry="exact")
        for kernel in ("resampled", "cropped"):  # crops cut for a size off by up to ±25 %: the size slope
            results[variant, f"{kernel}-jitter"] = diagnostics.one_step(
                diagnostics.with_test_kernel(model, kernel), frames, encoder, scale_jitter=0.25)
        print(f"{variant}: trained / loaded in {trained:.0f} s ({checkpoint})")

    print(f"\n{'variant':26}{'test kernel':18}{'IoU':>7}{'size ratio':>12}{'size slope':>12}{'p(target)':>11}")
    for (variant, kernel), result in results.items():
        s = result.summary()
        print(f"{variant:26}{kernel:18}{s['iou']:7.3f}{s['size_ratio']:12.3f}{s['size_slope']:12.2f}"
              f"{s['target_probability']:11.3f}")

    def paired(label, a, b) -> None:
        d = diagnostics.paired_difference(a, b)
        print(f"  {label:58}{d['delta']:+8.3f}  [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]")

    print("\npaired one-step IoU differences (95 % bootstrap interval over videos):")
    for variant in models:
        paired(f"{variant}: resampled − cropped test kernel", results[variant, "resampled"],
               results[variant, "cropped"])
        paired(f"{variant}: training kernel − cropped", results[variant, "training"], results[variant, "cropped"])
        paired(f"{variant}: exact − nominal geometry (resampled)", results[variant, "resampled-exact"],
               results[variant, "resampled"])
        paired(f"{variant}: resampled − cropped, crops ±25 % off in scale", results[variant, "resampled-jitter"],
               results[variant, "cropped-jitter"])
    if "official" in models:  # a trained variant or a --checkpoint of that name
        for variant in models:
            if variant != "official":
                paired(f"official − {variant} (each resampled)", results["official", "resampled"],
                       results[variant, "resampled"])
        if "old" in models:
            paired("official (resampled) − old (cropped): all fixes", results["official", "resampled"],
                   results["old", "cropped"])

    if args.language:
        for variant, model in models.items():
            report = diagnostics.language_use(model, frames, encoder)
            print(f"\nlanguage use, {variant}:")
            for mode in diagnostics.SENTENCE_MODES:
                s = report[mode]
                print(f"  {mode:6} IoU {s['iou']:.3f}  p(target) {s['target_probability']:.3f}")
            for mode in ("none", "other"):
                for key, d in report[f"{mode}_minus_own"].items():
                    print(f"  {mode} − own, {key:19}{d['delta']:+.3f}  [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]")
            sentences = sorted({s.sentence for s, _ in frames if s.sentence}
                               | {s.sentence for s in open_dataset("mini-lasot", root, "train") if s.sentence})
            rows = diagnostics.selector_statistics(model, encoder.encode(sentences).embeddings)
            print("  selector |mean|/std across sentences, median [q25, q75], sign-flipping channels:")
            for row in rows:
                print(f"    {row['branch']:8} stage {row['stage']}: {row['mean_over_std_median']:.2f} "
                      f"[{row['mean_over_std_q25']:.2f}, {row['mean_over_std_q75']:.2f}], "
                      f"{row['sign_flipping_channels']:.0%}")


if __name__ == "__main__":
    main()
