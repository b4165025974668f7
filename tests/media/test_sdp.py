"""Offered SDP is checked before aiortc sees it (server/media/sdp.py), and a viewer gets its own codec."""

from __future__ import annotations

import pytest

from server.errors import DomainError
from server.media.sdp import codec_preferences, parse_offer, viewer_video_codec

FINGERPRINT = ":".join(["AB"] * 32)
VP8_H264 = (("96", "VP8"), ("102", "H264"))


def sdp(
    kind: str = "video",
    codecs: tuple[tuple[str, str], ...] = VP8_H264,
    *,
    ice: bool = True,
    dtls: bool = True,
) -> str:
    """A one-section offer as a browser or encoder would send it."""
    lines = ["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=group:BUNDLE 0"]
    lines += [f"m={kind} 9 UDP/TLS/RTP/SAVPF {' '.join(p for p, _ in codecs)}", "c=IN IP4 0.0.0.0"]
    lines += ["a=recvonly", "a=mid:0", "a=rtcp-mux"]
    rate = "90000" if kind == "video" else "48000/2"
    lines += [f"a=rtpmap:{pt} {name}/{rate}" for pt, name in codecs]
    if ice:
        lines += ["a=ice-ufrag:abcd", "a=ice-pwd:0123456789abcdefghijklmn"]
    if dtls:
        lines += [f"a=fingerprint:sha-256 {FINGERPRINT}", "a=setup:actpass"]
    return "\r\n".join(lines) + "\r\n"


def refused(text: str) -> str:
    with pytest.raises(DomainError) as caught:
        parse_offer(text)
    assert caught.value.code == "bad_request"
    return caught.value.detail


def test_a_complete_offer_parses() -> None:
    offer = parse_offer(sdp())
    assert [m.kind for m in offer.media] == ["video"]
    assert parse_offer(sdp("audio", (("111", "opus"),))).media[0].kind == "audio"


@pytest.mark.parametrize("text", ["", "hello", "o=- 1 1 IN IP4 0.0.0.0\r\nv=0\r\n", " v=0\r\n"])
def test_a_body_that_does_not_start_with_v0_is_not_an_offer(text: str) -> None:
    assert "v=0" in refused(text)


def test_an_unparseable_offer_is_refused_in_our_words_not_the_parsers() -> None:
    detail = refused("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nm=video x\r\n")
    assert detail == "The SDP offer has a line we cannot read"


def test_an_offer_without_audio_or_video_is_refused() -> None:
    data_only = sdp().replace(
        "m=video 9 UDP/TLS/RTP/SAVPF 96 102", "m=application 9 UDP/DTLS/SCTP webrtc-datachannel"
    )
    assert "no audio or video" in refused(data_only)


def test_an_offer_needs_ice_credentials_and_a_dtls_fingerprint() -> None:
    assert "ICE credentials" in refused(sdp(ice=False))
    assert "DTLS fingerprint" in refused(sdp(dtls=False))


def test_the_viewer_gets_the_first_codec_in_its_own_order_that_we_encode() -> None:
    assert viewer_video_codec(parse_offer(sdp())) == "vp8"
    assert viewer_video_codec(parse_offer(sdp(codecs=(("102", "H264"), ("96", "VP8"))))) == "h264"
    assert viewer_video_codec(parse_offer(sdp(codecs=(("98", "VP9"), ("102", "H264"))))) == "h264"


def test_a_viewer_offering_no_codec_we_encode_gets_none() -> None:
    assert viewer_video_codec(parse_offer(sdp(codecs=(("98", "VP9"), ("45", "AV1"))))) is None
    assert viewer_video_codec(parse_offer(sdp("audio", (("111", "opus"),)))) is None


@pytest.mark.parametrize("name", ["h264", "vp8"])
def test_codec_preferences_are_that_codec_and_retransmission_only(name: str) -> None:
    prefs = codec_preferences("video", name)
    kinds = {c.mimeType.lower() for c in prefs}
    assert kinds == {f"video/{name}", "video/rtx"}
