"""Media knobs, read from LIVESHOP_* like the rest, but kept here so media owns its own settings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MediaSettings(BaseSettings):
    """ICE networking, encoder caps and session limits of the WHIP/WHEP endpoints."""

    model_config = SettingsConfigDict(env_prefix="LIVESHOP_", extra="ignore", frozen=True)

    ice_host_addresses: str = Field(
        "",
        description="Comma-separated local IPs to gather ICE host candidates on; empty = every "
        "interface except loopback (aiortc's default). Tests use 127.0.0.1.",
    )
    ice_peer_networks: str = Field(
        "",
        description="Comma-separated CIDRs whose ICE checks are answered; empty = any peer. "
        "Tests use 127.0.0.0/8 so nothing is ever sent to another address.",
    )
    ice_announced_address: str = Field(
        "", description="Public IP announced as an extra host candidate (1:1 NAT, e.g. a cloud VM)"
    )
    ice_servers: str = Field(
        "", description="Comma-separated stun:/turn: URLs used by the server and advertised in Link headers"
    )
    ice_username: str = Field("", description="TURN username")
    ice_credential: str = Field("", description="TURN credential")

    video_bitrate: int = Field(1_000_000, ge=100_000, le=20_000_000, description="Encoder target, bit/s")
    video_max_width: int = Field(1280, ge=16, le=7680)
    video_max_height: int = Field(720, ge=16, le=4320)
    keyframe_interval_s: float = Field(2.0, gt=0, le=30, description="Regular keyframe spacing")
    keyframe_min_gap_s: float = Field(
        0.5, ge=0, le=10, description="Forced keyframes (viewer joins, PLI) at most this often"
    )
    audio_bitrate: int = Field(64_000, ge=8_000, le=512_000)

    max_viewers_per_broadcast: int = Field(500, ge=1, le=100_000)
    max_sessions_per_client: int = Field(8, ge=1, le=100_000, description="Viewers per IP or user")
    session_idle_s: float = Field(
        30.0, gt=0, le=3600, description="A session not connected for this long is closed"
    )
    reconnect_grace_s: float = Field(
        60.0, gt=0, le=3600, description="How long viewers see 'reconnecting' before 'stopped'"
    )
    viewer_queue_frames: int = Field(
        30, ge=2, le=600, description="Frames a slow viewer may lag before it skips to the next keyframe"
    )
    reap_interval_s: float = Field(2.0, gt=0, le=60)

    hls_enabled: bool = Field(
        True, description="Package the H.264 encode as LL-HLS at /hls/{broadcast}/ and record it for replay"
    )
    hls_part_s: float = Field(0.5, ge=0.1, le=2.0, description="LL-HLS part length")
    hls_segment_s: float = Field(2.0, ge=1.0, le=10.0, description="HLS segment length (a keyframe each)")
    hls_window_segments: int = Field(8, ge=3, le=100, description="Segments kept in the live playlist")
    recordings_dir: str = Field("recordings", description="Where recordings (the replays) are written")
    replay_retention_days: float = Field(
        0, ge=0, le=36500, description="Delete recordings this many days after their broadcast; 0 keeps them"
    )

    @property
    def host_addresses(self) -> list[str]:
        return [a.strip() for a in self.ice_host_addresses.split(",") if a.strip()]

    @property
    def peer_networks(self) -> list[str]:
        return [n.strip() for n in self.ice_peer_networks.split(",") if n.strip()]

    @property
    def ice_server_urls(self) -> list[str]:
        return [u.strip() for u in self.ice_servers.split(",") if u.strip()]
