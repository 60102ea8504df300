"""Running the app with uvicorn: in the foreground (`telcotune serve`) or on a background
thread with a free port (tests, notebooks)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

LOOPBACK = "127.0.0.1"


def run_server(app: Any, host: str = LOOPBACK, port: int = 8000, log_level: str = "info") -> None:
    import uvicorn

    # Short graceful shutdown: a streaming reply must not hold Ctrl-C hostage.
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, server_header=False,
                            timeout_graceful_shutdown=3)
    uvicorn.Server(config).run()


class ServerThread:
    """`with ServerThread(app) as server: httpx.get(server.base_url + "/health")`: uvicorn on a
    socket bound to a free port before it starts, stopped and joined on exit."""

    def __init__(self, app: Any, host: str = LOOPBACK, startup_timeout_s: float = 30.0):
        import uvicorn

        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        self.host, self.port = host, self._socket.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1,
                                                    server_header=False))
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._socket]},
                                        name="uvicorn", daemon=True)
        self.startup_timeout_s = startup_timeout_s

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> "ServerThread":
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout_s
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not start within {self.startup_timeout_s:g} s")
            time.sleep(0.02)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._socket.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()
