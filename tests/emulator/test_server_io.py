"""The emulator's HTTP answers leave in one write on a TCP_NODELAY socket.

Headers and body in two writes make the body wait for the client's delayed ACK (Nagle's
algorithm): ~40 ms per request instead of well under one, which inflated every sandbox timing.
The tests check the two causes deterministically (no timed assertion): the option on every
accepted socket, and the number of ``sendall`` calls per answer.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ec2asr.testing.emulator import AsrEmulator
from ec2asr.testing.emulator import server as server_module
from tests.asr_helpers import new_emulator


class _CountingSocket:
    """An accepted socket that counts what the handler sends (everything else delegates)."""

    def __init__(self, sock: socket.socket, log: list[tuple[str, int]]) -> None:
        self._sock = sock
        self._log = log

    def sendall(self, data: bytes) -> None:
        self._log.append(("sendall", len(data)))
        self._sock.sendall(data)

    def send(self, data: bytes) -> int:
        self._log.append(("send", len(data)))
        return self._sock.send(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AsrEmulator, list[Any], list[Any]]]:
    writes: list[tuple[str, int]] = []
    accepted: list[socket.socket] = []
    lock = threading.Lock()
    real = server_module._Server.get_request

    def get_request(self: Any) -> tuple[Any, Any]:
        sock, address = real(self)
        with lock:
            accepted.append(sock)
        return _CountingSocket(sock, writes), address

    monkeypatch.setattr(server_module._Server, "get_request", get_request)
    emulator = new_emulator()
    try:
        yield emulator, writes, accepted
    finally:
        emulator.stop()


def _get(conn: http.client.HTTPConnection, path: str) -> http.client.HTTPResponse:
    conn.request("GET", path, headers={"Authorization": "Bearer t"})
    response = conn.getresponse()
    response.read()
    return response


def test_every_answer_is_one_write_on_a_nodelay_socket(
    counted: tuple[AsrEmulator, list[Any], list[Any]],
) -> None:
    emulator, writes, accepted = counted
    port = int(emulator.base_url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    vault = (
        f"/Subscriptions/{emulator.subscription_id}/resourceGroups/{emulator.resource_group}"
        f"/providers/Microsoft.RecoveryServices/vaults/{emulator.vault}"
    )
    statuses = []
    for path in (
        f"{vault}/replicationFabrics?api-version=2025-08-01",  # 200 with a body
        f"{vault}/replicationJobs?api-version=2025-08-01",
        f"{vault}/replicationFabrics/nope?api-version=2025-08-01",  # an error envelope
    ):
        statuses.append(_get(conn, path).status)
    # Asked while the keep-alive connection is open: once closed, the server closes its end.
    nodelay = [sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for sock in accepted]
    conn.close()
    assert statuses[:2] == [200, 200]
    assert statuses[2] >= 400
    # One keep-alive connection, three answers, three writes: headers and body together.
    assert len(accepted) == 1
    assert [kind for kind, _ in writes] == ["sendall"] * 3
    assert all(size > 100 for _, size in writes)  # status line, headers and body
    assert nodelay[0] != 0


def test_the_listen_backlog_fits_a_large_fleet() -> None:
    assert server_module._Server.request_queue_size >= 1024
