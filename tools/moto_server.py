"""Start moto (S3 + SQS) on a free loopback port for tests and the local stack.

Prints one JSON line, {"endpoint": "http://127.0.0.1:PORT", "pid": PID}, then serves until
standard input closes or SIGTERM/SIGINT arrives, so a parent that dies never leaves it behind.
The port is chosen by the OS (port 0) and read back, so parallel runs never collide.
relay-core (feature `moto`) compiles this file in and runs it with `python -c`, so keep it
self-contained (no imports of sibling files).
"""

import json
import logging
import os
import signal
import sys
import threading

from moto.s3.responses import S3Response
from moto.server import ThreadedMotoServer


def make_object_writes_atomic() -> None:
    """S3 applies a conditional write (If-None-Match: *, If-Match) atomically; moto checks
    the condition and then writes, and its threaded server can run two requests in between,
    so two compare-and-swaps could both succeed. One lock around every object write and
    delete gives moto S3's semantics (the relay's markers, manifests and checkpoints rely on
    them)."""
    lock = threading.Lock()
    for name in ("_key_response_put", "_key_response_delete"):
        original = getattr(S3Response, name)

        def serialized(self, *args, _original=original, **kwargs):
            with lock:
                return _original(self, *args, **kwargs)

        setattr(S3Response, name, serialized)


def main() -> None:
    make_object_writes_atomic()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(json.dumps({"endpoint": f"http://{host}:{port}", "pid": os.getpid()}), flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if "--no-stdin" not in sys.argv:
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
