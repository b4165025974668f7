// The live room (socket.io namespace /live): join a broadcast, receive its events, send chat.
// When the room cannot be reached the pages fall back to polling the REST API, so they keep working.
import { io } from "/app/vendor/socket.io.esm.min.js";
import { attribution, viewerKey } from "./attribution.js";

/**
 * joinRoom(broadcastId, token, handlers) -> {send(event, data) -> Promise<ack>, close(), connected}
 * handlers: snapshot, chat, chat_deleted, pinned, offer, viewers, broadcast, error, status(state)
 */
export function joinRoom(broadcastId, token, handlers) {
  const socket = io("/live", {
    auth: token ? { token } : {},
    transports: ["websocket", "polling"],
    reconnectionDelayMax: 5000,
  });
  const state = { connected: false, joined: false, socket };
  const emit = (name, ...args) => handlers[name] && handlers[name](...args);

  socket.on("connect", () => {
    state.connected = true;
    socket.emit("join", { broadcast_id: broadcastId, attribution: attribution(), viewer_key: viewerKey() }, (ack) => {
      if (ack && ack.error) {
        state.joined = false;
        emit("status", "error", ack.error);
        return;
      }
      state.joined = true;
      emit("status", "joined");
      if (ack) emit("snapshot", ack);
    });
  });
  socket.on("connect_error", (error) => {
    state.connected = false;
    state.joined = false;
    // a refusal by the server (bad token) carries {code, detail} in error.data and is not retried
    emit("status", "unavailable", error.data && error.data.code ? error.data : { code: "network", detail: error.message });
  });
  socket.on("disconnect", () => {
    state.connected = false;
    state.joined = false;
    emit("status", "reconnecting");
  });
  for (const name of ["chat", "chat_deleted", "pinned", "offer", "viewers", "broadcast", "error", "snapshot", "chat_settings", "media", "coupon"]) {
    socket.on(name, (data) => emit(name, data));
  }

  return {
    state,
    /** Sends an event and resolves with its ack, or {error} after 8 s without one. */
    send(event, data) {
      return new Promise((resolve) => {
        if (!state.joined) {
          resolve({ error: { code: "network", detail: "Not connected to the live room yet" } });
          return;
        }
        socket.timeout(8000).emit(event, data, (err, ack) => {
          resolve(err ? { error: { code: "network", detail: "The live room did not answer" } } : ack || { ok: true });
        });
      });
    },
    close() {
      socket.emit("leave");
      socket.close();
    },
  };
}
