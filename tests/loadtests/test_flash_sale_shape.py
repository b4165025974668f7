"""The flash-sale shape: quiet room, spike with buyers at the offer, decay, stop.

Evaluated in a child process: importing Locust monkey-patches the interpreter with gevent, which
must not happen inside the pytest process that runs asyncio tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from loadtests.runfile import Knobs, RunFile
from tests.services import ROOT

PROBE = """
import json, sys, types
from loadtests.flash_sale import FlashSaleShape
class Viewer: pass
class Buyer: pass
class Host: pass
options = types.SimpleNamespace(peak_users=1000, quiet_users=0, quiet_s=0, spike_s=60, ramp_s=5, decay_s=120,
                                run_data="", run_file=sys.argv[1])
shape = FlashSaleShape()
shape.runner = types.SimpleNamespace(environment=types.SimpleNamespace(parsed_options=options),
                                     user_classes_by_name={"Viewer": Viewer, "Buyer": Buyer, "Host": Host})
out = {}
for t in (0, 29, 30, 89, 90, 150, 209, 211):
    shape.get_run_time = lambda t=t: t
    tick = shape.tick()
    out[t] = None if tick is None else [tick[0], tick[1], [c.__name__ for c in tick[2]]]
print(json.dumps(out))
"""


def test_flash_sale_shape_is_quiet_then_spikes_with_buyers_at_the_offer_then_decays(tmp_path: Path) -> None:
    run = tmp_path / "run.json"
    RunFile("r", "http://x", "h@x", "t", "bc", [], [], Knobs(host_first_offer_s=30)).save(run)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(run)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    ticks = {int(t): v for t, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}
    assert ticks[0] == [100, 20, ["Viewer", "Host"]] and ticks[29] == ticks[0]  # quiet until the Host's offer
    assert ticks[30] == [1000, 200, ["Viewer", "Buyer", "Host"]] and ticks[89] == ticks[30]
    decay = [ticks[90][0], ticks[150][0], ticks[209][0]]
    assert decay[0] == 1000 and decay[0] > decay[1] > decay[2] > 100  # falls back towards the quiet crowd
    assert ticks[211] is None  # then the run stops


ROOM_PROBE = """
import json, sys, types
from loadtests.flash_sale import FlashSaleShape, _fix_the_room
class Viewer: fixed_count = 0
class Buyer: fixed_count = 0
class Host: fixed_count = 1
options = types.SimpleNamespace(peak_users=0, quiet_users=0, quiet_s=100, spike_s=40, ramp_s=5,
                                decay_s=20, room_viewers=5000, peak_buyers=500, arrive_rate=60,
                                run_data="", run_file=sys.argv[1])
_fix_the_room(types.SimpleNamespace(parsed_options=options, user_classes=[Viewer, Buyer, Host]))
shape = FlashSaleShape()
shape.runner = types.SimpleNamespace(environment=types.SimpleNamespace(parsed_options=options),
                                     user_classes_by_name={"Viewer": Viewer, "Buyer": Buyer, "Host": Host})
out = {"viewer_fixed_count": Viewer.fixed_count, "ticks": {}}
for t in (0, 99, 100, 139, 140, 150, 159, 161):
    shape.get_run_time = lambda t=t: t
    tick = shape.tick()
    out["ticks"][t] = None if tick is None else [tick[0], tick[1], [c.__name__ for c in tick[2]]]
print(json.dumps(out))
"""


def test_a_whole_room_stays_while_buyers_spike_at_the_offer_and_leave(tmp_path: Path) -> None:
    run = tmp_path / "run.json"
    RunFile("r", "http://x", "h@x", "t", "bc", [], [], Knobs(host_first_offer_s=100)).save(run)
    done = subprocess.run(
        [sys.executable, "-c", ROOM_PROBE, str(run)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["viewer_fixed_count"] == 5000  # the spike adds Buyers; it never trades Viewers for them
    ticks = {int(t): v for t, v in out["ticks"].items()}
    assert ticks[0] == [5001, 60, ["Viewer", "Host"]] and ticks[99] == ticks[0]  # the room fills at 60/s
    assert ticks[100] == [5501, 100, ["Viewer", "Buyer", "Host"]] and ticks[139] == ticks[100]
    decay = [ticks[140][0], ticks[150][0], ticks[159][0]]
    assert decay[0] == 5501 and decay[0] > decay[1] > decay[2] > 5001  # buyers leave, the room stays
    assert ticks[161] is None
