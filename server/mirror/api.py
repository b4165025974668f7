"""The web console's view of mirroring: status figures and replay of dead letters (host only)."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from server.api.auth import require_host
from server.api.context import DB
from server.api.openapi import Router
from server.api.validation import Body, json_response, parse_body
from server.mirror import jobs
from server.mirror.state import MIRROR
from server.mirror.status import mirror_status

router = Router()


class ReplayIn(Body):
    platform: str | None = Field(None, max_length=16)
    job_id: int | None = None
    everything: bool = False


@router.get(
    "/api/v1/mirror/status",
    auth="host",
    tag="mirror",
    summary="The shop's mirror rows per platform: queue depth, lag, last error, dead letters, flagged orders",
)
async def status(request: web.Request) -> web.Response:
    host = require_host(request)
    state = request.app[MIRROR]
    async with request.app[DB]() as session:
        report = await mirror_status(session, state.config.enabled(), host.shop_id)
    return json_response(report)


@router.post(
    "/api/v1/mirror/replay",
    body=ReplayIn,
    auth="host",
    tag="mirror",
    summary="Make the shop's dead letters (or every stock row) due again",
)
async def replay(request: web.Request) -> web.Response:
    host = require_host(request)
    body = await parse_body(request, ReplayIn)
    async with request.app[DB]() as session, session.begin():
        count = await jobs.replay(session, body.platform, body.job_id, body.everything, host.shop_id)
    return json_response({"replayed": count})
