"""Stand-ins for a box's console on loopback, shared by the serial and labgrid tests."""

from __future__ import annotations

import socket
import threading
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChattyConsole:
    """A console server whose box keeps printing POST lines (``lines`` of them, 0.1 s apart) and never reports;
    ``port`` to connect to, ``close()`` when done."""

    def __init__(self, lines: int = 40) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(1)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._chatter, args=(lines,), daemon=True).start()

    def _chatter(self, lines: int) -> None:
        conn, _ = self.server.accept()
        with conn:
            for _ in range(lines):
                try:
                    conn.sendall(b"POST... memory test\r\n")
                except OSError:  # bootgen gave up on the box at its timeout, as it should
                    return
                time.sleep(0.1)

    def close(self) -> None:
        self.server.close()
