"""simtrain.serve: `make run`'s server, DEBUG only with --debug."""

from __future__ import annotations

from simtrain.serve import APPLICATION, daphne_argv


def test_the_default_is_daphne_with_simtrain_and_no_debug():
    assert daphne_argv(["-b", "127.0.0.1", "-p", "8000"]) == (
        ["-b", "127.0.0.1", "-p", "8000", APPLICATION], False)


def test_debug_is_for_this_process_only_and_not_passed_to_daphne():
    args, debug = daphne_argv(["--debug", "-p", "8001"])
    assert debug and "--debug" not in args and args[-1] == APPLICATION


def test_an_application_given_is_kept():
    assert daphne_argv(["other.asgi:application"]) == (["other.asgi:application"], False)
