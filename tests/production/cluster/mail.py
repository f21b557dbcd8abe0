"""An SMTP relay on loopback (aiosmtpd) that keeps what it accepts, by Message-ID."""

import asyncio
import threading
from email import message_from_bytes, policy

from .base import free_port

# --- the SMTP sink ------------------------------------------------------------------------


class Hold:
    """The sink holds the message numbered ``at`` (1-based, in arrival order) until released,
    so that a test can kill or cut the worker sending it at that moment.

    ``keep``: the relay queues the message as it arrives, before its answer can reach the
    worker (RFC 1047's window: a sender that dies then never learns it was taken); else the
    relay dies before taking it and answers nothing useful (421)."""

    def __init__(self, at: int, keep: bool):
        self.at, self.keep = at, keep
        self.reached = threading.Event()
        self.released = threading.Event()
        self.message_id = None

    def release(self) -> None:
        self.released.set()


class MailSink:
    """An aiosmtpd server on loopback keeping every message it accepts, by Message-ID.

    ``delay``: seconds each message takes (a slow relay), so a worker is mid-batch long enough
    to be killed or cut there. ``hold(n)``: stop at the n-th message until the test says.
    """

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.port = free_port()
        self.received: list[tuple[str, str]] = []  # (envelope recipient, Message-ID)
        self.arrived = 0
        self.lock = threading.Lock()
        self.holds: dict[int, Hold] = {}
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.arrived += 1
            hold = self.holds.get(self.arrived)
        if self.delay:
            await asyncio.sleep(self.delay)
        if hold is not None:
            hold.message_id = msg["Message-ID"]
            if hold.keep:
                self._keep(envelope, msg)
            hold.reached.set()
            while not hold.released.is_set():  # cancelled if the worker's connection dies
                await asyncio.sleep(0.01)
            return "250 OK" if hold.keep else "421 4.3.2 Service shutting down"
        self._keep(envelope, msg)
        return "250 OK"

    def _keep(self, envelope, msg) -> None:
        with self.lock:
            self.received.append((envelope.rcpt_tos[0], msg["Message-ID"]))

    def hold(self, at: int, keep: bool) -> Hold:
        self.holds[at] = Hold(at, keep)
        return self.holds[at]

    def message_ids(self) -> list[str]:
        with self.lock:
            return [mid for _, mid in self.received]

    def start(self) -> "MailSink":
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        for hold in self.holds.values():
            hold.release()
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
