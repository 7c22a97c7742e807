"""`make run`'s server: Daphne with simtrain, DEBUG off unless `--debug`.

    python -m simtrain.serve -b 127.0.0.1 -p 8000           # what make run starts
    python -m simtrain.serve --debug -b 127.0.0.1 -p 8000   # developers: DEBUG on

Every other argument goes to Daphne as it is. The default is safe to leave running on
a classroom's network: DEBUG off (no tracebacks, no settings on error pages) and a
secret key of its own, kept in var/ (simtrain.settings). `--debug` turns DEBUG on for
this process only and says so.
"""

from __future__ import annotations

import os
import sys

APPLICATION = "simtrain.asgi:application"


def daphne_argv(argv: list[str]) -> tuple[list[str], bool]:
    """Daphne's arguments, and whether DEBUG was asked for."""
    debug = "--debug" in argv
    args = [arg for arg in argv if arg != "--debug"]
    if not any(arg.endswith(":application") for arg in args):
        args.append(APPLICATION)
    return args, debug


def main(argv: list[str] | None = None) -> None:
    args, debug = daphne_argv(list(sys.argv[1:] if argv is None else argv))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "simtrain.settings")
    if debug:
        os.environ["DJANGO_DEBUG"] = "1"
        print("DEBUG is on (--debug): for development only, never on a shared network.",
              file=sys.stderr)
    from daphne.cli import CommandLineInterface

    CommandLineInterface().run(args)


if __name__ == "__main__":
    main()
