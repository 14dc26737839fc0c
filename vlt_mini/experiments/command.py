"""``vlt-mini ablate`` (the rows of the paper's ablation tables, ``run_ablation``), ``vlt-mini study`` (the paired
accuracy study, ``run_study``) and ``vlt-mini demo`` (the main job: mini-LaSOT, two trackers, the evaluation, a report
folder).

    vlt-mini ablate --table 3,4,5a,5b,5c --profile cpu --seeds 3 --out runs/ablations
    vlt-mini ablate --table search --candidate runs/search/best_candidate.json --profile cpu --seeds 3 --out runs/ablations
    vlt-mini ablate --table 5c --profile tiny --seeds 1 --out /tmp/ablate train.epochs=1 pairs.samples_per_epoch=16
    vlt-mini demo --out runs/demo [--profile cpu]

Ablation folders: see ``vlt_mini.experiments.ablation_runs``; trailing ``key=value`` overrides apply to every row's
training (``model.*``, ``train.*``, ``pairs.*``), so the budget stays the same for every row.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from vlt_mini.arguments import add_device_argument, add_profile_argument, add_progress_argument
from vlt_mini.experiments.ablations import TABLE_MD, TABLE_ROWS, TABLES


def parse_tables(text: str) -> list[str]:
    """``--table 5c`` or ``--table 3,4,5a`` -> the table names, in order, without repeats."""
    tables = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in tables if name not in TABLES]
    if unknown or not tables:
        raise argparse.ArgumentTypeError(f"unknown table {', '.join(unknown) or repr(text)}; choose from "
                                         f"{', '.join(TABLES)} (several: --table 3,4,5a)")
    return list(dict.fromkeys(tables))


def add_ablate_arguments(parser: argparse.ArgumentParser) -> None:
    from vlt_mini.data.registry import DATASETS

    parser.description = __doc__
    parser.add_argument("--table", required=True, type=parse_tables, metavar="{" + ",".join(TABLES) + "}",
                        help="table to run, or several separated by commas (3,4,5a)")
    add_profile_argument(parser, "network, recipe and data size")
    parser.add_argument("--seeds", type=int, default=1, help="number of training seeds (0..N-1; default 1)")
    parser.add_argument("--out", required=True, type=Path, help="ablations folder (table<T>/ per table)")
    parser.add_argument("--rows", default=None, help="comma-separated row names (default: every row)")
    parser.add_argument("--dataset", default="mini-lasot", choices=sorted(DATASETS),
                        help="trains on its train split, tests on its test split (default mini-lasot)")
    parser.add_argument("--root", type=Path, default=None,
                        help="dataset root (mini-LaSOT default: data/mini-lasot-<profile>-seed0, generated if missing)")
    parser.add_argument("--candidate", type=Path, default=None, help="searched candidate (a search's "
                        "best_candidate.json; default: the official VLT_SCAR candidate; --table search needs it)")
    parser.add_argument("--symmetric-candidate", type=Path, default=None,
                        help="Table 5a: best_candidate.json of `vlt-mini search --symmetric`")
    parser.add_argument("--reuse", type=Path, action="append", default=[], metavar="DIR",
                        help="a folder searched for finished trainings identical to a row's (config.json beside "
                             "model_final.pt, e.g. from `vlt-mini train`); repeatable")
    parser.add_argument("--jobs", type=int, default=1, help="run the (table, seed) jobs in N processes at once, "
                        "each with cores / N torch threads (default 1; 2 on a 2-core laptop trains about 2.5x faster)")
    add_device_argument(parser)
    add_progress_argument(parser)
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="training overrides for every row: train.epochs=1 pairs.samples_per_epoch=16 ...")


def _limit_threads(threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)


def _run_job(table: str, seed: int, wanted, args, root) -> str:
    from vlt_mini.experiments.ablation_runs import run_ablation

    run_ablation(table, args.out, args.profile, [seed], wanted, args.dataset, root, args.candidate,
                 args.symmetric_candidate, args.overrides, args.device, False, format_command(args), args.reuse)
    return f"table {table} · seed {seed}"


def run_jobs(args, selected: dict) -> None:
    """Every (table, seed) of ``selected`` as a job in ``args.jobs`` processes (spawned; cores / jobs threads each),
    tables in order so that later tables find the trainings they share with earlier ones. A failed job is reported
    after the others finish."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm.auto import tqdm

    from vlt_mini.experiments.ablations import default_root, resolve_candidates, training_setup

    resolve_candidates(args.candidate, args.symmetric_candidate)  # bad input fails here, before any process starts
    for table in selected:
        for row in TABLE_ROWS[table]:
            training_setup(row.training, args.profile, args.overrides)
    root = default_root(args.dataset, args.root, args.profile, not args.no_progress)  # made once, not per job
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    jobs = [(table, seed, wanted) for table, wanted in selected.items() for seed in range(args.seeds)]
    failures = []
    with ProcessPoolExecutor(args.jobs, multiprocessing.get_context("spawn"), _limit_threads, (threads,)) as pool:
        futures = {pool.submit(_run_job, table, seed, wanted, args, root): (table, seed) for table, seed, wanted in jobs}
        with tqdm(total=len(jobs), desc=f"ablation jobs ({args.jobs} at once)", unit="job",
                  disable=args.no_progress) as bar:
            for future in as_completed(futures):
                table, seed = futures[future]
                try:
                    bar.set_postfix_str(future.result())
                except Exception as error:  # noqa: BLE001 - reported below with its job
                    failures.append(f"table {table} · seed {seed}: {error}")
                bar.update()
    if failures:
        raise ValueError("ablation jobs failed: " + "; ".join(failures))


def format_command(args) -> str:
    import shlex

    parts = ["vlt-mini", "ablate", "--table", ",".join(args.table), "--profile", args.profile,
             "--seeds", str(args.seeds), "--out", str(args.out)]
    for flag, value in (("--rows", args.rows), ("--root", args.root), ("--candidate", args.candidate),
                        ("--symmetric-candidate", args.symmetric_candidate)):
        parts += [flag, str(value)] if value is not None else []
    parts += ["--dataset", args.dataset] if args.dataset != "mini-lasot" else []
    for path in args.reuse:
        parts += ["--reuse", str(path)]
    parts += ["--jobs", str(args.jobs)] if args.jobs != 1 else []
    return " ".join(shlex.quote(part) for part in [*parts, *args.overrides])


def command_ablate(args) -> None:
    from vlt_mini.arguments import quiet_libraries
    from vlt_mini.experiments.ablation_runs import run_ablation
    from vlt_mini.experiments.ablations import check_candidate_for_table, write_directions

    if args.no_progress:
        quiet_libraries()
    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    rows = [name.strip() for name in args.rows.split(",") if name.strip()] if args.rows else None
    tables = args.table
    for table in tables:
        check_candidate_for_table(table, args.candidate)
    if rows:
        known = {row.slug for table in tables for row in TABLE_ROWS[table]}
        if set(rows) - known:
            raise ValueError(f"--rows: no row {', '.join(sorted(set(rows) - known))} in table(s) {', '.join(tables)}; "
                             f"rows: {', '.join(sorted(known))}")
    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    selected = {table: [row for row in rows if row in {r.slug for r in TABLE_ROWS[table]}] if rows else None
                for table in tables}
    selected = {table: wanted for table, wanted in selected.items() if not rows or wanted}
    if args.jobs > 1:
        run_jobs(args, selected)  # then the loop below only reads the finished runs back and writes the tables
    for table, wanted in selected.items():
        run_ablation(table, args.out, args.profile, args.seeds, wanted, args.dataset, args.root,
                     args.candidate, args.symmetric_candidate, args.overrides, args.device,
                     not args.no_progress, format_command(args), args.reuse)
        print((args.out / f"table{table}" / TABLE_MD).read_text())
    directions = write_directions(args.out)
    if directions is not None:
        print(directions.read_text())


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="report folder (default runs/demo)")
    add_profile_argument(parser, "data, network and recipe (cpu: under 10 minutes on a 2-core CPU; tiny: seconds)")
    parser.add_argument("--iterations", type=int, default=-1,
                        help="training iterations per network (default: 600 at cpu, the profile's schedule otherwise; "
                             "1000 is the full cpu recipe)")
    parser.add_argument("--sequential", action="store_true",
                        help="train the two networks one after the other (default: side by side with 2+ cores)")
    parser.add_argument("--seed", default=0, type=int, help="random seed")
    add_progress_argument(parser)


def command_demo(args) -> None:
    from vlt_mini.arguments import quiet_libraries
    from vlt_mini.experiments.demo import run_demo

    if args.iterations == 0 or args.iterations < -1:
        raise ValueError(f"--iterations must be a positive number, got {args.iterations}")
    if args.no_progress:
        quiet_libraries()
    run_demo(args.out, profile=args.profile, seed=args.seed, progress=not args.no_progress,
             iterations=args.iterations, parallel=False if args.sequential else None)


def add_study_arguments(parser: argparse.ArgumentParser) -> None:
    from vlt_mini.data.registry import DATASETS
    from vlt_mini.experiments.study import ARMS, KINDS, __doc__ as study_doc

    parser.description = study_doc
    parser.add_argument("--out", required=True, type=Path, help="study folder: train/, <split>/<arm>/seed<N>/, tables")
    add_profile_argument(parser, "network, recipe and data size")
    parser.add_argument("--seeds", default="0-4", help="training seeds: 0-4 (the default) or 0,1,2")
    parser.add_argument("--split", default="test", help="split to track and score (choose settings on val)")
    parser.add_argument("--dataset", default="mini-lasot", choices=sorted(DATASETS),
                        help="trains on its train split (default mini-lasot)")
    parser.add_argument("--root", type=Path, default=None,
                        help="dataset root (mini-LaSOT default: data/mini-lasot-v2-<profile>-seed0, generated if missing)")
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=KINDS,
                        help="train and track only these in this process (one per process uses two cores); "
                             "--kinds with no value only writes the tables from finished runs")
    parser.add_argument("--arms", default=None,
                        help="track only these arms (comma-separated: " + ", ".join(arm.slug for arm in ARMS) + ")")
    parser.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples (default 10000)")
    add_device_argument(parser)
    add_progress_argument(parser)
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="training overrides for both networks (train.loss.box_loss=log_iou ...)")


def command_study(args) -> None:
    from vlt_mini.arguments import quiet_libraries
    from vlt_mini.experiments.study import format_study, parse_seeds, run_study

    if args.no_progress:
        quiet_libraries()
    seeds = parse_seeds(args.seeds)
    if args.resamples < 100:
        raise ValueError(f"--resamples must be >= 100, got {args.resamples}")
    arms = [name.strip() for name in args.arms.split(",") if name.strip()] if args.arms is not None else None
    summary = run_study(args.out, args.profile, seeds, args.split, args.root, args.dataset, args.kinds,
                        args.overrides, args.device, not args.no_progress, args.resamples, arms)
    print(format_study(summary))
