#!/usr/bin/python3
"""A third, independent WebRTC stack publishing over WHIP: GStreamer's webrtcbin (libnice ICE).

Runs under Debian's /usr/bin/python3 (python3-gi), not the venv. It sends exactly what a WHIP encoder
sends: one non-trickle offer (`a=setup:actpass`, BUNDLE, candidates inline) with H.264 and Opus.
libnice is held to 127.0.0.1 (and UPnP off), so every packet stays on loopback.

Usage: gst_whip_publisher.py <whip-url> <stream-key> <seconds>; prints one JSON line.
"""

import json
import sys
import urllib.error
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("Nice", "0.1")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC, Nice  # noqa: E402

PIPELINE = (
    "webrtcbin name=send bundle-policy=max-bundle latency=100 "
    "videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=30/1 "
    "! videoconvert ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=800 "
    "! video/x-h264,profile=constrained-baseline ! rtph264pay config-interval=-1 aggregate-mode=zero-latency "
    "! application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000 ! send. "
    "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc "
    "! rtpopuspay ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! send. "
)


def main() -> int:
    url, key, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    Gst.init(None)
    loop = GLib.MainLoop()
    pipe = Gst.parse_launch(PIPELINE)
    webrtc = pipe.get_by_name("send")
    ice = webrtc.get_property("ice-agent")  # keep a reference: gi drops a temporary one too early
    ice.set_property("ice-tcp", False)
    agent = ice.get_property("agent")
    agent.set_property("upnp", False)
    address = Nice.Address.new()
    address.set_from_string("127.0.0.1")
    agent.add_local_address(address)
    result = {"status": None, "offer_setup": None, "connection": None}

    def fail(message: str) -> None:
        result["error"] = message
        loop.quit()

    def post_offer() -> bool:
        sdp = webrtc.get_property("local-description").sdp.as_text()
        result["offer_setup"] = [line for line in sdp.split("\r\n") if line.startswith("a=setup:")][:1]
        result["offer_candidates"] = sum(1 for line in sdp.split("\r\n") if line.startswith("a=candidate:"))
        request = urllib.request.Request(
            url,
            data=sdp.encode(),
            method="POST",
            headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                result["status"] = resp.status
                result["location"] = resp.headers["Location"]
                answer_text = resp.read().decode()
        except urllib.error.HTTPError as exc:
            result["status"] = exc.code
            fail(exc.read().decode()[:300])
            return False
        _, answer = GstSdp.SDPMessage.new_from_text(answer_text)
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, answer)
        webrtc.emit("set-remote-description", desc, None)
        GLib.timeout_add(int(seconds * 1000), finish)
        return False

    def finish() -> bool:
        result["connection"] = webrtc.get_property("connection-state").value_nick
        if result.get("location"):
            base = url.split("/whip/")[0]
            request = urllib.request.Request(base + result["location"], method="DELETE")
            with urllib.request.urlopen(request, timeout=10) as resp:
                result["deleted"] = resp.status
        loop.quit()
        return False

    def on_gathering(element: Gst.Element, _pspec: object) -> None:
        state = element.get_property("ice-gathering-state")
        if state == GstWebRTC.WebRTCICEGatheringState.COMPLETE and result["status"] is None:
            GLib.idle_add(post_offer)  # non-trickle: the offer carries every candidate

    def on_offer(promise: Gst.Promise, _data: object) -> None:
        reply = promise.get_reply()
        offer = reply.get_value("offer")
        webrtc.emit("set-local-description", offer, Gst.Promise.new())

    def on_negotiation_needed(element: Gst.Element) -> None:
        element.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer, None))

    webrtc.connect("on-negotiation-needed", on_negotiation_needed)
    webrtc.connect("notify::ice-gathering-state", on_gathering)
    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect("message::error", lambda _b, m: fail(str(m.parse_error()[0])))
    pipe.set_state(Gst.State.PLAYING)
    GLib.timeout_add(int((seconds + 20) * 1000), lambda: fail("timed out") or False)
    loop.run()
    pipe.set_state(Gst.State.NULL)
    print(json.dumps(result), flush=True)
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main())
