"""The ``lawset`` command line: the subcommands of :mod:`lawset.builders.commands` in one parser,
every path argument resolved, every error mapped to one line and an exit code
(:func:`lawset.builders.errors.run_command`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__, console
from .commands import build, certify, lawbench, publish, release, validate
from .errors import EXIT_USAGE, add_verbosity, run_command

#: the subcommands, in the order ``lawset --help`` lists them; each module has
#: ``register(subparsers)``, which adds its parser with ``set_defaults(func=run)``
COMMANDS = (build, validate, release, publish, lawbench, certify)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lawset",
        description="Build, validate and release a Chinese legal instruction-tuning dataset.",
    )
    p.add_argument("--version", action="version", version=f"lawset {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return p


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every (sub)command parser below ``parser``."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sp in action.choices.values():
                found.append(sp)
                found += _subparsers(sp)
    return found


def resolve_paths(args: argparse.Namespace) -> None:
    """Every path argument resolved (``~``, relative to the working folder, symlinks) before use."""
    for name, value in vars(args).items():
        if isinstance(value, Path):
            setattr(args, name, value.expanduser().resolve())
        elif isinstance(value, list) and value and all(isinstance(v, Path) for v in value):
            setattr(args, name, [v.expanduser().resolve() for v in value])


def parser() -> argparse.ArgumentParser:
    """The whole command line: every command, each with ``--quiet``/``--verbose``."""
    p = _parser()
    for sp in _subparsers(p):
        if not any("--quiet" in a.option_strings for a in sp._actions):
            add_verbosity(sp)
    return p


def main(argv: list[str] | None = None) -> int:
    """``lawset ARGS``: parse, set the verbosity, run the command; its exit code."""
    p = parser()
    args = p.parse_args(argv)
    console.set_level(getattr(args, "quiet", False), getattr(args, "verbose", False))
    command = " ".join(
        x for x in (args.command, getattr(args, "subcommand", None)) if isinstance(x, str)
    )

    def handle() -> int:
        resolve_paths(args)
        if getattr(args, "func", None) is not None:
            return int(args.func(args))
        p.print_help()
        return EXIT_USAGE

    return run_command(command, handle)


if __name__ == "__main__":
    sys.exit(main())
