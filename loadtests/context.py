"""What every scenario shares in one Locust process: the run file, the offer board, the buyers' ledger.

The master (or the single local process) reads the run file and passes its text to the workers as a
custom option, so a worker machine needs only the code. Workers send ledger lines to the master.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from loadtests.board import OfferBoard
from loadtests.ledger import LedgerWriter
from loadtests.runfile import DEFAULT_RUN, RunFile

LEDGER_MESSAGE = "liveshop_ledger"

_run: RunFile | None = None
_board: OfferBoard | None = None
_ledger: LedgerWriter | None = None


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
        runner.register_message(LEDGER_MESSAGE, lambda msg, **_kw: _ledger and _ledger.extend(msg.data))
    gevent.spawn(_flush_forever)


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
    if isinstance(environment.runner, WorkerRunner):
        _ship(environment)
    elif _ledger is not None:
        _ledger.flush()
    if _board is not None:
        _board.stop()


@events.quitting.add_listener
def _on_quit(environment: Environment, **_: Any) -> None:
    _on_stop(environment)
