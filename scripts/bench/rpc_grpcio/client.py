"""grpcio's side of scripts/bench_rpc.sh: a stock Python gRPC client
calling the unary echo `/bench.Echo/Echo` on one channel.

Usage: client.py ADDR IN_FLIGHT SECS

IN_FLIGHT threads share one channel (grpcio multiplexes them over one
HTTP/2 connection), each calling in a loop for SECS seconds; the message is
`bench.Msg { data: 20 bytes }`, 22 bytes on the wire, written by hand so no
protoc is needed. Prints `calls N secs S`, as the other clients do.

Python's interpreter lock makes this client, not the server, the limit: its
rows compare servers under the same client (stackwire's h2c against tonic),
not grpcio against the Rust clients.
"""
import sys
import threading
import time

import grpc

MSG = b"\x0a\x14" + b"x" * 20


def main():
    addr, in_flight, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    channel = grpc.insecure_channel(addr)
    echo = channel.unary_unary("/bench.Echo/Echo", request_serializer=lambda b: b,
                               response_deserializer=lambda b: b)
    assert echo(MSG, timeout=5) == MSG, "the echo does not echo"
    counts = [0] * in_flight
    began = time.monotonic()
    stop = began + secs

    def caller(i):
        n = 0
        while time.monotonic() < stop:
            echo(MSG, timeout=5)
            n += 1
        counts[i] = n

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(in_flight)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"calls {sum(counts)} secs {time.monotonic() - began:.3f}")


main()
