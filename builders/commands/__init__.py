"""The ``lawset`` subcommands, one module each.

A command module only registers its subcommand: ``register(subparsers)`` adds the parser (options,
help and description) with ``set_defaults(func=run)``, and ``run(args) -> int`` calls library code
and returns an exit code from :mod:`lawset.builders.errors`. Errors are raised, not printed:
:func:`lawset.builders.errors.run_command` turns each into one line and its exit code.
Library code is imported inside ``run``, so ``lawset --help`` stays fast and loads no training or
Hub library. :mod:`lawset.builders.cli` assembles the modules into one parser.
"""
