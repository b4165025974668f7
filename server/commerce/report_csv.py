"""The sale report as CSV: one row per number, `section,id,name,metric,value`, so a spreadsheet's pivot
table (or any CSV reader) gets every figure the JSON has without knowing its shape.

Sections: broadcast, audience, funnel, conversion, sales, product, offer, auction, source, sample.
`id` names the row's product / offer / auction / source / sample time (epoch ms); `name` its title.
Text that a spreadsheet would run as a formula (= + - @ at its start) is quoted with a leading '.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp import web

from server.errors import DomainError

FORMATS = ("json", "csv")
HEADER = ("section", "id", "name", "metric", "value")
_ROWS = (  # section -> (list in the report, id field, name field)
    ("product", "products", "product_id", "title"),
    ("offer", "offers", "offer_id", "title"),
    ("auction", "auctions", "auction_id", "title"),
    ("source", "sources", "source", "source"),
)
_SKIP = {"product_id", "offer_id", "auction_id", "source", "title"}


def wants_csv(request: web.Request) -> bool:
    """?format=csv|json decides; else Accept: text/csv gives CSV, JSON or anything-goes gives JSON."""
    fmt = request.query.get("format")
    if fmt is not None:
        if fmt not in FORMATS:
            raise DomainError("validation_error", "format: json or csv", field="format")
        return fmt == "csv"
    accept = request.headers.get("Accept", "")
    if not accept.strip():
        return False
    types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if "text/csv" in types:
        return True
    if any(t in ("application/json", "*/*", "application/*", "application/problem+json") for t in types):
        return False
    raise DomainError("not_acceptable", "This report comes as application/json or text/csv")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def rows(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for metric in ("broadcast_id", "title", "status", "report", "currency", "generated_at_ms"):
        out.append(("broadcast", report["broadcast_id"], "", metric, report[metric]))
    for section in ("audience", "funnel", "conversion", "sales"):
        for metric, value in report[section].items():
            out.append((section, "", "", metric, value))
    for section, key, id_field, name_field in _ROWS:
        for item in report[key]:
            for metric, value in item.items():
                if metric not in _SKIP:
                    out.append((section, item[id_field], item.get(name_field) or "", metric, value))
    for point in report["samples"]:
        out.append(("sample", point["t"], "", "viewers", point["viewers"]))
        out.append(("sample", point["t"], "", "chat", point["chat"]))
    return out


def render(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows(report):
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()


def csv_response(report: dict[str, Any], filename: str) -> web.Response:
    return web.Response(
        text=render(report),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
