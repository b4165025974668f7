"""`liveshop bench <name>`, the console script the README promises, finds the checkout's benchmarks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

LIVESHOP = Path(sys.executable).parent / "liveshop"


@pytest.mark.skipif(not LIVESHOP.exists(), reason="the console script is not installed (pip install -e .)")
@pytest.mark.parametrize("where", ["project", "elsewhere"])
def test_the_console_script_runs_a_benchmark_from_any_folder(where: str, tmp_path: Path) -> None:
    cwd = Path(__file__).resolve().parents[1] if where == "project" else tmp_path
    ran = subprocess.run(
        [str(LIVESHOP), "bench", "claims", "--help"], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 0 and "usage: liveshop bench claims" in ran.stdout, ran.stderr
    missing = subprocess.run(
        [str(LIVESHOP), "bench", "nosuch"], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert missing.returncode == 1 and "no benchmark named 'nosuch'" in missing.stderr
