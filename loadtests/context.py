"""What every scenario shares in one Locust process: the run file, the offer board, the buyers' ledger.

The master (or the single local process) reads the run file and passes its text to the workers as a
custom option, so a worker machine needs only the code. Workers send ledger lines to the master.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any

import gevent
from locust import argument_parser, events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadtests.board import OfferBoard
from loadtests.ledger import LedgerWriter
from loadtests.runfile import DEFAULT_RUN, RunFile
from loadtests.tally import FrameTally

LEDGER_MESSAGE = "liveshop_ledger"
FINAL_MESSAGE = "liveshop_final"  # master -> workers: stop your users and send your last lines
FINAL_DONE_MESSAGE = "liveshop_final_done"
FINAL_WAIT_S = 15.0

_run: RunFile | None = None
_board: OfferBoard | None = None
_ledger: LedgerWriter | None = None
_tally: FrameTally | None = None
_finished_workers: set[str] = set()

# A worker handles each spawn message (one a second while users ramp up) by building Locust's whole
# argument parser once per option the master sent (`k not in default_args_dict()` in a comprehension,
# locust/runners.py): about a second of CPU per message, long enough on a busy machine to miss
# heartbeats, be declared missing, and have its users re-spawned elsewhere. The defaults never change
# within a process, so build them once.
if not hasattr(argument_parser.default_args_dict, "cache_info"):
    argument_parser.default_args_dict = functools.cache(argument_parser.default_args_dict)


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument(
        "--run-file",
        default=os.environ.get("LIVESHOP_RUN", str(DEFAULT_RUN)),
        help="run file written by `python -m loadtests.prepare` (env LIVESHOP_RUN)",
    )
    parser.add_argument("--run-data", default="", include_in_web_ui=False, help="(set by the master)")


def run_file(environment: Environment) -> RunFile:
    global _run
    if _run is None:
        options = environment.parsed_options
        text = getattr(options, "run_data", "") or Path(options.run_file).read_text()
        _run = RunFile.loads(text)
    return _run


def board(environment: Environment) -> OfferBoard:
    """One board per process, started by the first user that asks."""
    global _board
    if _board is None:
        run = run_file(environment)
        _board = OfferBoard(environment, run.base_url if not environment.host else environment.host, run)
        _board.start()
    return _board


def tally(environment: Environment) -> FrameTally:
    """One frame tally per process, flushed into Locust's stats once a second."""
    global _tally
    if _tally is None:
        _tally = FrameTally(environment)
    _tally.start()  # again after a stop: a restarted test counts on
    return _tally


def record_order(line: dict[str, Any]) -> None:
    if _ledger is not None:
        _ledger.add(line)


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    global _ledger
    runner = environment.runner
    options = environment.parsed_options
    if options is None or runner is None:
        return
    _ledger = LedgerWriter(Path("/dev/null"))  # replaced below once the run id is known
    if isinstance(runner, WorkerRunner):
        runner.register_message(FINAL_MESSAGE, lambda **_kw: _finish_worker(environment))
        gevent.spawn(_ship_ledger_forever, environment)
        return
    path = Path(options.run_file)
    if path.exists():
        options.run_data = path.read_text()
        run = run_file(environment)
        if not environment.host:
            environment.host = run.base_url
        _ledger = LedgerWriter(path.parent / f"orders-{run.run_id}.jsonl")
    if isinstance(runner, MasterRunner):
        runner.register_message(LEDGER_MESSAGE, _on_ledger_lines)
        runner.register_message(FINAL_DONE_MESSAGE, _on_final_done)
    gevent.spawn(_flush_forever)


def _on_ledger_lines(msg: Any, **_: Any) -> None:
    if _ledger is not None:
        _ledger.extend(msg.data)


def _on_final_done(msg: Any, **_: Any) -> None:
    _finished_workers.add(msg.node_id)


def _finish_worker(environment: Environment) -> None:
    """Stop this worker's users first, so no buyer records a line after the last one is shipped."""
    assert environment.runner is not None
    environment.runner.stop()
    _ship(environment)
    environment.runner.send_message(FINAL_DONE_MESSAGE, None)


def _collect_final_lines(runner: MasterRunner) -> None:
    """A master may quit without waiting for its workers (`--run-time`): ask each for its last lines."""
    _finished_workers.clear()
    workers = {w.id for w in runner.clients.all}
    runner.send_message(FINAL_MESSAGE, None)
    deadline = time.monotonic() + FINAL_WAIT_S
    while not workers <= _finished_workers and time.monotonic() < deadline:
        gevent.sleep(0.1)


def _ship(environment: Environment) -> None:
    if _ledger is not None and environment.runner is not None:
        lines = _ledger.take()
        if lines:
            environment.runner.send_message(LEDGER_MESSAGE, lines)


def _ship_ledger_forever(environment: Environment) -> None:
    while True:
        gevent.sleep(1.0)
        _ship(environment)


def _flush_forever() -> None:
    while True:
        gevent.sleep(1.0)
        if _ledger is not None:
            _ledger.flush()


@events.test_stop.add_listener
def _on_stop(environment: Environment, **_: Any) -> None:
    if _tally is not None:
        _tally.stop()  # before a worker's last stats report
    if isinstance(environment.runner, WorkerRunner):
        _ship(environment)
    else:
        if isinstance(environment.runner, MasterRunner):
            _collect_final_lines(environment.runner)
        if _ledger is not None:
            _ledger.flush()
    if _board is not None:
        _board.stop()


@events.quitting.add_listener
def _on_quit(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        _ship(environment)
    elif _ledger is not None:
        _ledger.flush()
