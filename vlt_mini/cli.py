"""The ``vlt-mini`` command line: one registry of commands, each parsed and run by its phase's ``command`` module.

Each command is a thin front over a package function, so everything here can also be done from Python. Building the
parser imports neither torch nor transformers; a command imports them only when it runs. Every expected failure
(bad input, a missing file or model, an operating-system error) ends with one message and a non-zero exit status;
``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import errno
import importlib
import re
import sys

# name -> (module holding add_<name>_arguments(parser) and command_<name>(args), one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("vlt_mini.data.command", "generate the synthetic mini-LaSOT, or describe a dataset"),
    "train": ("vlt_mini.training.command", "train SiamCAR, a VLT candidate or the supernet on template / search pairs"),
    "pretrain": ("vlt_mini.training.command", "the ImageNet step: the SPOS supernet classifies rendered objects"),
    "run": ("vlt_mini.tracking.command", "run a tracker over a dataset split; one results file per sequence"),
    "track": ("vlt_mini.tracking.command", "track one video (a file or a folder of frames) from a box and a sentence"),
    "evaluate": ("vlt_mini.evaluation.command", "score results folders with the official one-pass evaluation"),
    "search": ("vlt_mini.search.command", "evolutionary search of a VLT candidate in a trained supernet"),
    "ablate": ("vlt_mini.experiments.command", "train and score the rows of the paper's ablation tables"),
    "study": ("vlt_mini.experiments.command", "VLT-mini vs SiamCAR vs MIL, with / without / another sentence: paired "
                                              "over seeds and videos, 95 %% intervals"),
    "demo": ("vlt_mini.experiments.command", "the main job: mini-LaSOT, trackers, evaluation, a report folder"),
    "handout": ("vlt_mini.handout", "execute every notebook and write HTML pages with a contents page"),
}
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def build_parser(commands=None) -> argparse.ArgumentParser:
    """The whole parser; ``commands`` (names) limits the sub-commands whose arguments are built (the others are
    listed with their help, but their modules are not imported)."""
    parser = argparse.ArgumentParser(
        prog="vlt-mini",
        description="vlt-mini: vision-language tracking (VLT, NeurIPS 2022) reproduced step by step.",
        epilog="`vlt-mini COMMAND --help` describes a command. Errors print one message; --debug shows the traceback.",
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    for name, (module, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show the traceback of an error")
        if commands is None or name in commands:
            getattr(importlib.import_module(module), f"add_{name}_arguments")(sub)
    return parser


_NUMBERS = re.compile(r"^-[\d.]+([,\s]+-?[\d.]+)*$")


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--box -5,-5,17,50`` -> ``--box=-5,-5,17,50``: argparse takes a value that starts with '-' (and is not one
    plain number) for an option."""
    joined: list[str] = []
    for token in argv:
        previous = joined[-1] if joined else ""
        if _NUMBERS.match(token) and previous.startswith("--") and "=" not in previous and previous != "--":
            joined[-1] = f"{previous}={token}"
        else:
            joined.append(token)
    return joined


def _describe_os_error(error: OSError) -> str:
    where = f" {error.filename}" if error.filename else ""
    if error.errno is None or not error.strerror:
        return str(error)
    if error.errno == errno.ENOSPC:
        return f"no space left on the device while writing{where}: free some space or choose another output folder, " \
               "then run the same command again (finished work is kept)"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied:{where}; choose a file or folder you can read / write, or fix its permissions"
    if error.errno == errno.EROFS:
        return f"read-only file system:{where}; choose another output folder"
    if error.errno == errno.ENOTDIR:
        return f"not a folder:{where} (a file is in the way); choose another path"
    if error.errno == errno.EISDIR:
        return f"is a folder:{where}; give a file name"
    return f"{error.strerror}:{where}"


def _expected_error(error: BaseException) -> str | None:
    """The one-line message of an expected failure, or None for a bug (which keeps its traceback)."""
    text_encoder = sys.modules.get("vlt_mini.models.text_encoder")
    if text_encoder is not None and isinstance(error, text_encoder.TextModelUnavailable):
        return f"{error} (choose another text model with --text-model)"
    if isinstance(error, KeyError):
        return str(error.args[0]) if error.args else "missing key"
    if isinstance(error, OSError):
        return _describe_os_error(error)
    if isinstance(error, ValueError):
        return str(error)
    if isinstance(error, MemoryError) or "out of memory" in str(error).lower():
        return "out of memory: choose a smaller --profile or batch size (train.batch_size=...), or another --device"
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    requested = next((token for token in argv if token in COMMANDS), None)
    parser = build_parser([requested] if requested else [])
    args = parser.parse_args(_join_negative_values(argv))
    try:
        getattr(importlib.import_module(COMMANDS[args.command][0]), f"command_{args.command}")(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"vlt-mini {args.command}: interrupted; run the same command again to resume (finished work is kept)",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the error boundary: expected failures become one message
        message = _expected_error(error)
        if message is None or args.debug:
            raise
        print(f"vlt-mini {args.command}: error: {message}", file=sys.stderr)
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
