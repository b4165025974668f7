"""LL-HLS media playlists (RFC 8216bis, protocol version 9): the live window with its parts, preload
hint and date ranges, and the replay's VOD playlist of every segment, ending with #EXT-X-ENDLIST."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(slots=True)
class Part:
    index: int
    duration_s: float
    independent: bool
    data: bytes


@dataclass(slots=True)
class Segment:
    msn: int  # media sequence number
    map_id: int  # which init segment (a new one after the picture size changes)
    start_s: float  # seconds from the start of the recording
    wall: datetime  # EXT-X-PROGRAM-DATE-TIME of its first frame
    discontinuity: bool = False
    parts: list[Part] = field(default_factory=list)
    complete: bool = False

    @property
    def duration_s(self) -> float:
        return sum(p.duration_s for p in self.parts)

    def data(self) -> bytes:
        return b"".join(p.data for p in self.parts)


@dataclass(frozen=True, slots=True)
class DateRange:
    """A pin, offer or auction at its moment in the video: EXT-X-DATERANGE for HLS players."""

    id: str
    kind: str  # pin | offer | auction
    item_id: str
    at_s: float
    wall: datetime

    def line(self) -> str:
        return (
            f'#EXT-X-DATERANGE:ID="{self.id}",CLASS="com.liveshop.{self.kind}",'
            f'START-DATE="{iso(self.wall)}",X-LIVESHOP-TYPE="{self.kind}",X-LIVESHOP-ID="{self.item_id}"'
        )


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def segment_name(msn: int) -> str:
    return f"s{msn}.m4s"


def part_name(msn: int, index: int) -> str:
    return f"p{msn}.{index}.m4s"


def init_name(map_id: int) -> str:
    return f"init{map_id}.mp4"


def _header(target_s: int, version: int = 9) -> list[str]:
    return ["#EXTM3U", f"#EXT-X-VERSION:{version}", f"#EXT-X-TARGETDURATION:{target_s}"]


def _segment_lines(segment: Segment, current_map: list[int], with_parts: bool) -> list[str]:
    lines: list[str] = []
    if segment.discontinuity:
        lines.append("#EXT-X-DISCONTINUITY")
    if current_map[0] != segment.map_id:
        lines.append(f'#EXT-X-MAP:URI="{init_name(segment.map_id)}"')
        current_map[0] = segment.map_id
    lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{iso(segment.wall)}")
    if with_parts:
        for part in segment.parts:
            flag = ",INDEPENDENT=YES" if part.independent else ""
            lines.append(
                f'#EXT-X-PART:DURATION={part.duration_s:.5f},URI="{part_name(segment.msn, part.index)}"{flag}'
            )
    if segment.complete:
        lines.append(f"#EXTINF:{segment.duration_s:.5f},")
        lines.append(segment_name(segment.msn))
    return lines


def live_playlist(
    segments: list[Segment],
    ranges: list[DateRange],
    *,
    target_s: int,
    part_target_s: float,
    parts_for_last: int,
    ended: bool,
) -> str:
    """The live window. Parts are listed for the last `parts_for_last` segments (and the one being
    written), as the spec asks (within 3 target durations of the end)."""
    lines = _header(target_s)
    hold_back = max(3 * part_target_s, 1.0)
    lines.append(
        f"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={hold_back:.3f},HOLD-BACK={3 * target_s}"
    )
    lines.append(f"#EXT-X-PART-INF:PART-TARGET={part_target_s:.5f}")
    if not segments:
        return "\n".join([*lines, "#EXT-X-MEDIA-SEQUENCE:0", ""])
    lines.append(f"#EXT-X-MEDIA-SEQUENCE:{segments[0].msn}")
    first_start = segments[0].start_s
    lines += [r.line() for r in ranges if r.at_s >= first_start]
    current_map = [-1]
    with_parts_from = len(segments) - parts_for_last - 1
    for i, segment in enumerate(segments):
        lines += _segment_lines(segment, current_map, with_parts=i >= with_parts_from and not ended)
    if ended:
        lines.append("#EXT-X-ENDLIST")
    else:
        last = segments[-1]
        msn, index = (last.msn + 1, 0) if last.complete else (last.msn, len(last.parts))
        lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{part_name(msn, index)}"')
    return "\n".join(lines) + "\n"


def vod_playlist(segments: list[Segment], ranges: list[DateRange]) -> str:
    """The replay: every segment of the recording, then #EXT-X-ENDLIST."""
    longest = max((s.duration_s for s in segments), default=1.0)
    lines = [*_header(max(1, math.ceil(longest)), version=7), "#EXT-X-PLAYLIST-TYPE:VOD"]
    lines.append("#EXT-X-MEDIA-SEQUENCE:0")
    lines += [r.line() for r in ranges]
    current_map = [-1]
    for segment in segments:
        lines += _segment_lines(segment, current_map, with_parts=False)
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
