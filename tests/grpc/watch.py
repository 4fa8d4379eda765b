"""Watches a server's health with grpcio: prints SERVING when the stream says
so, then waits (up to 30 s) for NOT_SERVING, prints it and exits 0.

Usage: watch.py HOST:PORT
"""
import sys

import grpc

with grpc.insecure_channel(sys.argv[1]) as ch:
    watch = ch.unary_stream("/grpc.health.v1.Health/Watch", request_serializer=lambda b: b,
                            response_deserializer=lambda b: b)
    names = {b"\x08\x01": "SERVING", b"\x08\x02": "NOT_SERVING"}
    for status in watch(b"", timeout=30):
        print(names.get(status, repr(status)), flush=True)
        if status == b"\x08\x02":
            sys.exit(0)
sys.exit(1)
