#!/usr/bin/env python3
"""Delays and drops packets the way `tc qdisc ... netem delay D loss P` does,
for kernels built without sch_netem (CONFIG_NET_SCH_NETEM unset, as on some
VM kernels, where `tc` says "Specified qdisc kind is unknown").

An nftables rule queues the packets to this process (`queue num N bypass`,
see scripts/lib_cluster.sh: swc_slow_on); it takes each one from the
kernel's NFQUEUE over netlink, drops P of them at random and gives every
other one back to the kernel (NF_ACCEPT) D milliseconds after it arrived.
The packets themselves stay in the kernel: only their ids come here (copy
mode META), so this is cheap and cannot alter a byte. With `bypass`,
packets pass undelayed when this process is not running, so a crash never
cuts a host off.

Spoken directly over an AF_NETLINK socket (linux/netfilter/nfnetlink_queue.h)
so that it needs nothing beyond python3. Runs until SIGTERM/SIGINT; on exit
the kernel drops what was still queued here, as netem's queue would be
dropped with its qdisc.

Usage: netdelay.py QUEUE DELAY_MS LOSS_PERCENT
"""

import collections
import errno
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NF_DROP, NF_ACCEPT = 0, 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
# Packets held at once: at 200 ms this is 40,000 packets a second.
MAXLEN = 8192


def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * ((4 - n % 4) % 4)


class Queue:
    def __init__(self, num):
        self.num = num
        self.seq = 0
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((0, 0))
        self.request(NFQNL_MSG_CONFIG, attr(NFQA_CFG_CMD, struct.pack("!BxH", NFQNL_CFG_CMD_BIND, 0)), ack=True)
        self.request(NFQNL_MSG_CONFIG, attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META)), ack=True)
        self.request(NFQNL_MSG_CONFIG, attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", MAXLEN)), ack=True)

    def request(self, msg, attrs, ack=False):
        self.seq += 1
        body = struct.pack("!BBH", socket.AF_UNSPEC, 0, self.num) + attrs
        flags = NLM_F_REQUEST | (NLM_F_ACK if ack else 0)
        self.sock.send(struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg, flags, self.seq, 0) + body)
        if ack:
            data = self.sock.recv(65536)
            _, kind, _, _, _ = struct.unpack_from("=IHHII", data)
            code = struct.unpack_from("=i", data, 16)[0] if kind == NLMSG_ERROR else 0
            if code:
                raise OSError(-code, f"nfqueue config for queue {self.num}: {errno.errorcode.get(-code, code)}")

    def verdict(self, packet_id, verdict):
        self.request(NFQNL_MSG_VERDICT, attr(NFQA_VERDICT_HDR, struct.pack("!II", verdict, packet_id)))

    def packet_ids(self):
        """The ids of the packets waiting in one read from the socket."""
        try:
            data = self.sock.recv(1 << 20)
        except OSError as e:
            if e.errno == errno.ENOBUFS:  # the kernel dropped some: go on
                return []
            raise
        ids, off = [], 0
        while off + 16 <= len(data):
            n, kind = struct.unpack_from("=IH", data, off)
            if n < 16:
                break
            if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                a = off + 20  # nlmsghdr (16) + nfgenmsg (4)
                while a + 4 <= off + n:
                    alen, akind = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if akind & 0x7FFF == NFQA_PACKET_HDR:
                        ids.append(struct.unpack_from("!I", data, a + 4)[0])
                    a += (alen + 3) & ~3
            off += (n + 3) & ~3
        return ids


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    num, delay, loss = int(sys.argv[1]), float(sys.argv[2]) / 1000.0, float(sys.argv[3]) / 100.0
    q = Queue(num)
    running = [True]

    def stop(*_):
        running[0] = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    held = collections.deque()  # (due, id): one delay for all, so FIFO is due order
    print(f"netdelay: queue {num}: delay {delay * 1000:.0f} ms, loss {loss * 100:.1f}%", flush=True)
    while running[0]:
        now = time.monotonic()
        while held and held[0][0] <= now:
            q.verdict(held.popleft()[1], NF_ACCEPT)
        wait = max(0.0, held[0][0] - now) if held else 0.5
        try:
            ready, _, _ = select.select([q.sock], [], [], wait)
        except InterruptedError:
            continue
        if not ready:
            continue
        arrived = time.monotonic()
        for pid in q.packet_ids():
            if random.random() < loss:
                q.verdict(pid, NF_DROP)
            else:
                held.append((arrived + delay, pid))


if __name__ == "__main__":
    main()
