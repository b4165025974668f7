"""liveshop load test: `Viewer`s in the live room, `Buyer`s rushing flash offers, one `Host` running the show.

    python -m loadtests.prepare --base-url URL --host-email E --host-password P
    locust -f loadtests/locustfile.py --headless --processes -1 -u 500 -r 100 -t 2m --host URL \
        --csv loadtests/results/run --html loadtests/results/run.html
    python -m loadtests.summary loadtests/results/run
    python -m loadtests.audit

Pick scenarios by class name (`locust -f ... Buyer Host`); `--exclude-tags chat` silences viewers. For the
flash-sale shape (quiet room, spike at the offer, decay) add its file: `-f loadtests/locustfile.py,
loadtests/flash_sale.py`, or run it all with `python -m loadtests.flash_run`. See README.md, "Load tests".
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:  # Locust puts this file's folder on the path, not the project's
    sys.path.insert(0, ROOT)

from loadtests import context, cpu  # noqa: E402, F401  (register options, the ledger, the CPU samples)
from loadtests.buyer import Buyer  # noqa: E402
from loadtests.host import Host  # noqa: E402
from loadtests.viewer import Viewer  # noqa: E402

__all__ = ["Buyer", "Host", "Viewer"]
