// The official socket.io JavaScript client against liveshop's /live namespace.
// Usage: node client.mjs <base url> <token> <broadcast id> <text> [transport]
// Prints one JSON line: the join ack, the chat ack and the first chat batch that carries <text>.
import { io } from "socket.io-client";

const [url, token, broadcastId, text, transport = "websocket"] = process.argv.slice(2);
const socket = io(`${url}/live`, { auth: { token }, transports: [transport], reconnection: false });
const fail = (why) => { console.log(JSON.stringify({ error: String(why) })); process.exit(1); };
setTimeout(() => fail("timeout"), 15000);
socket.on("connect_error", (err) => fail(`connect_error ${err.message}`));
socket.on("connect", async () => {
  try {
    const snapshot = await socket.timeout(5000).emitWithAck("join", { broadcast_id: broadcastId });
    const batch = new Promise((resolve) => {
      socket.on("chat", (messages) => {
        if (Array.isArray(messages) && messages.some((m) => m.text === text)) resolve(messages);
      });
    });
    const ack = await socket.timeout(5000).emitWithAck("chat", { text });
    const messages = await batch;
    console.log(JSON.stringify({ snapshot, ack, batch: messages }));
    socket.disconnect();
    process.exit(0);
  } catch (err) {
    fail(err);
  }
});
