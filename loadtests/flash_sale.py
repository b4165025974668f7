"""The flash-sale load shape: a quiet room, a spike of buyers when the offer starts, then decay.

    locust -f loadtests/locustfile.py,loadtests/flash_sale.py --headless --peak-users 2000 \
        --host URL --csv loadtests/results/flash

Phases (seconds from the start):
  quiet  [0, quiet)            `quiet-users` Viewers (and the Host) in the room
  spike  [quiet, quiet+spike)  ramps to `peak-users` within `ramp-s`, Buyers joining the Viewers
  decay  then `decay-s`        exponential fall back towards the quiet crowd, then the run stops
`--quiet-s` defaults to the run file's `host_first_offer_s`, so the spike meets the Host's first
scheduled offer (offers prepared with `--offers N` are already open during the quiet phase).

With `--room-viewers V --peak-buyers B` the room stays whole: V Viewers (a fixed count, arriving at
`--arrive-rate` per second) and the Host fill the room in the quiet phase; the spike adds B Buyers
within `ramp-s`, and the decay takes Buyers away again. `loadtests/flash_run.py` runs this shape.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from locust import LoadTestShape, events  # noqa: E402

from loadtests.runfile import RunFile  # noqa: E402


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument("--peak-users", type=int, default=1000, help="users at the top of the spike")
    parser.add_argument("--quiet-users", type=int, default=0, help="viewers before the offer (0: peak/10)")
    parser.add_argument("--quiet-s", type=float, default=0, help="quiet phase (0: the Host's first offer)")
    parser.add_argument("--spike-s", type=float, default=60)
    parser.add_argument("--ramp-s", type=float, default=5, help="how fast the spike arrives")
    parser.add_argument("--decay-s", type=float, default=120)
    parser.add_argument(
        "--room-viewers", type=int, default=0, help="a fixed room of V viewers (0: by weight)"
    )
    parser.add_argument("--peak-buyers", type=int, default=0, help="with --room-viewers: buyers at the spike")
    parser.add_argument("--arrive-rate", type=float, default=100, help="with --room-viewers: viewers/s")


@events.init.add_listener
def _fix_the_room(environment: Any, **_: Any) -> None:
    """With --room-viewers, Viewers are a fixed count: the spike adds Buyers, never takes Viewers away."""
    options = environment.parsed_options
    if options is None or not getattr(options, "room_viewers", 0):
        return
    for user_class in environment.user_classes:
        if user_class.__name__ == "Viewer":
            user_class.fixed_count = options.room_viewers


class FlashSaleShape(LoadTestShape):
    def _options(self) -> Any:
        return self.runner.environment.parsed_options  # type: ignore[union-attr]

    def phases(self) -> tuple[int, int, float, float, float, float]:
        o = self._options()
        quiet_s = o.quiet_s
        if not quiet_s:
            text = getattr(o, "run_data", "") or Path(o.run_file).read_text()
            quiet_s = RunFile.loads(text).knobs.host_first_offer_s
        quiet = o.quiet_users or max(o.peak_users // 10, 2)
        return o.peak_users, quiet, quiet_s, o.spike_s, o.ramp_s, o.decay_s

    def tick(self) -> tuple[int, float, list[Any]] | None:
        peak, quiet, quiet_s, spike_s, ramp_s, decay_s = self.phases()
        t = self.get_run_time()
        classes = self.runner.user_classes_by_name  # type: ignore[union-attr]
        room = [classes[n] for n in ("Viewer", "Host") if n in classes]
        everyone = [classes[n] for n in ("Viewer", "Buyer", "Host") if n in classes]
        o = self._options()
        if getattr(o, "room_viewers", 0):
            return self.room_tick(t, o, room, everyone, quiet_s, spike_s, ramp_s, decay_s)
        if t < quiet_s:
            return quiet, max(quiet / 5, 1), room
        if t < quiet_s + spike_s:
            return peak, max(peak / ramp_s, 1), everyone
        into = t - quiet_s - spike_s
        if into < decay_s:
            users = quiet + (peak - quiet) * math.exp(-3 * into / decay_s)
            return round(users), max(peak / 10, 1), everyone
        return None

    def room_tick(
        self,
        t: float,
        o: Any,
        room: list[Any],
        everyone: list[Any],
        quiet_s: float,
        spike_s: float,
        ramp_s: float,
        decay_s: float,
    ) -> tuple[int, float, list[Any]] | None:
        """A whole room (fixed Viewers + the Host), plus Buyers from the spike on."""
        settled = o.room_viewers + (1 if any(c.__name__ == "Host" for c in room) else 0)
        buyers = o.peak_buyers
        if t < quiet_s:
            return settled, o.arrive_rate, room
        if t < quiet_s + spike_s:
            return settled + buyers, max(buyers / ramp_s, 1), everyone
        into = t - quiet_s - spike_s
        if into < decay_s:
            return settled + round(buyers * math.exp(-3 * into / decay_s)), max(buyers / 10, 1), everyone
        return None
