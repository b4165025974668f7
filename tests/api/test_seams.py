"""Typed seams: app.py wires every one, and a node built without one refuses to start."""

from __future__ import annotations

import ast

import pytest
from aiohttp.test_utils import TestServer

from server.api import seams
from server.app import build_app
from server.config import Settings
from tests.services import ROOT


def test_the_app_wires_every_seam(settings: Settings) -> None:
    app = build_app(settings, run_migrations=False, background=False)
    assert seams.missing(app) == []


@pytest.mark.parametrize("name", sorted(seams.SEAMS))
async def test_a_node_without_a_seam_fails_at_start_and_names_it(settings: Settings, name: str) -> None:
    app = build_app(settings, run_migrations=False, background=False)
    del app[seams.SEAMS[name]]
    server = TestServer(app, host="127.0.0.1")
    with pytest.raises(seams.MissingSeam, match=f"missing seams {name}"):
        await server.start_server()
    await server.close()


def _seam_names() -> set[str]:
    keys = list(seams.SEAMS.values())
    return {name for name, value in vars(seams).items() if any(value is key for key in keys)}


def test_only_app_py_fills_a_seam() -> None:
    """A feature that filled a seam itself would wire features together behind app.py's back."""
    names = _seam_names()
    assert names == {
        "BUYER_GUARD",
        "VIEWER_COUNT",
        "AUDIENCE",
        "BROADCAST_SNAPSHOT",
        "PAYMENTS",
        "AUDIT_CHECKS",
        "PINNED_CLAIM",
        "GIVEAWAY_KEYWORD",
        "MEDIA_CLOCK",
    }
    fillers = []
    for path in sorted((ROOT / "server").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                if isinstance(target, ast.Subscript):
                    key = target.slice
                    name = key.attr if isinstance(key, ast.Attribute) else getattr(key, "id", None)
                    if name in names:
                        fillers.append(str(path.relative_to(ROOT)))
    assert fillers and set(fillers) == {"server/app.py"}
