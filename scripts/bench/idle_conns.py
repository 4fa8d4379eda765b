#!/usr/bin/env python3
"""Open N keep-alive connections to HOST:PORT, send one GET on each, read the
response, and hold them all open until stdin closes. Prints `ready N` once
every connection has had its answer, so the caller can measure the proxy's
memory with N idle clients. Used by scripts/bench_balancer.sh."""
import selectors
import socket
import sys

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
req = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
sel = selectors.DefaultSelector()
socks, answered = [], 0
batch = 500
for start in range(0, n, batch):
    pending = {}
    for _ in range(min(batch, n - start)):
        s = socket.create_connection((host, port))
        s.sendall(req)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        pending[s] = b""
        socks.append(s)
    while pending:
        for key, _ in sel.select(timeout=10):
            s = key.fileobj
            data = s.recv(65536)
            if not data:
                sys.exit(f"connection closed by the proxy after {answered} answers")
            pending[s] += data
            if b"\r\n\r\n" in pending[s]:
                sel.unregister(s)
                del pending[s]
                answered += 1
print(f"ready {answered}", flush=True)
sys.stdin.read()
