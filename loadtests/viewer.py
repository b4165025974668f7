"""`Viewer`: watches a broadcast's live room: guest session, socket.io `/live`, join, chat now and then."""

from __future__ import annotations

import random

import gevent
from locust import FastHttpUser, tag, task

from loadtests import context
from loadtests.room import RoomClient

LINES = ["love it", "how much?", "is it in blue?", "just bought one", "hello from the load test", "wow"]


class Viewer(FastHttpUser):
    weight = 5

    def wait_time(self) -> float:
        """Chat at random (Poisson) moments, `viewer_chat_every_s` apart on average."""
        return random.expovariate(1.0 / self.run.knobs.viewer_chat_every_s)

    def on_start(self) -> None:
        self.run = context.run_file(self.environment)
        board = context.board(self.environment)
        self.room: RoomClient | None = None
        self.joined = False
        with self.client.post(
            "/api/v1/auth/guest",
            json={"nickname": f"viewer-{random.randrange(10**6)}"},
            name="guest session",
            catch_response=True,
        ) as resp:
            if resp.status_code != 201:
                resp.failure(f"{resp.status_code} {(resp.text or '')[:120]}")
                return
            token = resp.json()["token"]
        self.room = RoomClient(self.environment, self.host, token, on_offer=board.update)
        self.joined = self.room.connect() and self.room.join(self.run.broadcast_id) is not None

    @tag("viewer", "chat")
    @task
    def chat(self) -> None:
        if self.room is None or not self.room.connected:
            gevent.sleep(1.0)  # the failed connect was reported; a viewer without a room just watches
            return
        if not self.joined:  # the failed join was reported; try again as the app would
            self.joined = self.room.join(self.run.broadcast_id) is not None
            return
        self.room.chat(random.choice(LINES))

    @tag("viewer")
    @task(2)
    def watch(self) -> None:
        """Just watch (and receive) for a while; `--exclude-tags chat` makes every viewer a silent one."""

    def on_stop(self) -> None:
        if getattr(self, "room", None) is not None:
            self.room.close()
