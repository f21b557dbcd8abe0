"""A TCP proxy on loopback that a test can cut: the network between the app and a server.

``TcpProxy(port).start()`` listens on a free loopback port and forwards every connection to
``127.0.0.1:<port>``. ``outage(mode)`` cuts every open connection at once (a reset, as when a
server or a link dies) and treats new ones by ``mode`` until ``restore()``:

- ``REFUSE``: each new connection is reset as soon as it arrives (a port nobody serves);
- ``BLACKHOLE``: new connections are accepted and never answered (a hung server, a dropped
  route): only the client's own timeouts end them.

``cut_at(pattern, after)`` cuts the one connection whose client sends ``pattern`` (in a
send that follows one holding ``after``) instead of forwarding it: e.g. a database connection
lost exactly at its ``COMMIT``. With ``answered=True`` it forwards ``pattern`` and cuts the
connection when the server answers, dropping the answer: the server did the work, the client
never learns it.

Threads and blocking sockets: a test opens tens of connections, not thousands.
"""

import contextlib
import socket
import struct
import threading

FORWARD, REFUSE, BLACKHOLE = "forward", "refuse", "blackhole"


def _reset(sock: socket.socket) -> None:
    """Close with a reset (SO_LINGER 0): the peer sees its connection die, not a clean end."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv on it
    sock.close()


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.mode = FORWARD
        self.port = 0
        self.accepted = 0  # connections that arrived, in any mode
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()  # every socket of a live pair, or held
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._trap: tuple[bytes, bytes | None, bool] | None = None
        self.trapped = threading.Event()

    def start(self) -> "TcpProxy":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        self._listener, self.port = listener, listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)
        self._thread.start()
        return self

    def outage(self, mode: str = REFUSE) -> None:
        """From now on, treat new connections by ``mode``; reset every open one."""
        assert mode in (REFUSE, BLACKHOLE)
        with self._lock:
            self.mode = mode
            victims, self._open = self._open, set()
        for sock in victims:
            _reset(sock)

    def cut_at(self, pattern: bytes, after: bytes | None = None, answered: bool = False) -> None:
        """Cut the next connection whose client sends ``pattern`` (once ``after`` was sent on
        it), before ``pattern`` is forwarded, or with ``answered`` when the server's answer to
        it comes back (not forwarded); ``trapped`` is set when that happened."""
        self.trapped.clear()
        self._trap = (pattern, after, answered)

    def restore(self) -> None:
        """Forward again; connections held by a blackhole are reset (their clients gave up)."""
        with self._lock:
            held = self._open if self.mode == BLACKHOLE else set()
            self._open -= held
            self.mode = FORWARD
        for sock in held:
            _reset(sock)

    def stop(self) -> None:
        if self._listener is not None:
            _reset(self._listener)
            self._listener = None
        with self._lock:
            victims, self._open = self._open, set()
        for sock in victims:
            _reset(sock)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _accept_loop(self) -> None:
        listener = self._listener
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            with self._lock:
                self.accepted += 1
                mode = self.mode
                if mode == BLACKHOLE:
                    self._open.add(client)  # held, never read: the client's timeout ends it
                    continue
            if mode == REFUSE:
                _reset(client)
                continue
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.settimeout(None)
        except OSError:
            _reset(client)
            return
        with self._lock:
            if self.mode != FORWARD:  # an outage began while we connected
                _reset(client)
                _reset(upstream)
                return
            self._open |= {client, upstream}
        pair = (client, upstream)
        answer_trapped = threading.Event()  # the next answer on this pair is to be cut
        threading.Thread(
            target=self._pump, args=(upstream, client, pair, answer_trapped), daemon=True
        ).start()
        self._pump(client, upstream, pair, answer_trapped, watch=True)

    def _cut(self, pair) -> None:
        # Said before the reset: the client may see the reset, and its caller the outcome,
        # before this thread runs again.
        self.trapped.set()
        with self._lock:
            self._open -= set(pair)
        for sock in pair:
            _reset(sock)

    def _pump(self, source, sink, pair, answer_trapped, watch=False) -> None:
        seen_after, tail = False, b""
        try:
            while data := source.recv(65536):
                if not watch and answer_trapped.is_set():
                    self._cut(pair)  # the server's answer, never forwarded
                    return
                trap = self._trap if watch else None
                if trap is not None:
                    pattern, after, answered = trap
                    # A pattern may straddle two reads: the end of the last one is looked at too.
                    data_seen, tail = tail + data, (tail + data)[-256:]
                    if pattern in data_seen and (after is None or seen_after):
                        self._trap = None
                        if answered:
                            answer_trapped.set()  # before forwarding: the answer may be quick
                            sink.sendall(data)
                            continue
                        self._cut(pair)
                        return
                    if pattern in data_seen:
                        seen_after = False  # e.g. another transaction's COMMIT: start over
                    elif after is not None and after in data_seen:
                        seen_after = True
                sink.sendall(data)
        except OSError:
            pass  # cut, or the other side went away
        # One side ended: end both (a half-open database connection helps nobody here).
        with self._lock:
            mine = [s for s in pair if s in self._open]
            self._open -= set(mine)
        for sock in mine:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
