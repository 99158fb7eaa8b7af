#!/usr/bin/env python3
"""A user-space netem for the Cheetah netem test, for kernels built without sch_netem.

    cheetah-impair.py IF_A IF_B LOSS DELAY_MS REORDER DUPLICATE SEED

Relays every Ethernet frame between two interfaces with AF_PACKET sockets and impairs both
directions the way `tc qdisc ... netem loss LOSS delay DELAY_MS reorder REORDER duplicate
DUPLICATE` impairs one: a frame is lost with probability LOSS, sent twice with probability
DUPLICATE, and each copy is either sent at once (probability REORDER, which is how netem reorders)
or after DELAY_MS. Probabilities are fractions (0.05 = 5 %); the generator is seeded. Prints
"ready" once both sockets are bound, and counters on SIGTERM.
"""
import heapq
import random
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main() -> None:
    if_a, if_b = sys.argv[1], sys.argv[2]
    loss, delay_ms, reorder, dup = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
    rng = random.Random(int(sys.argv[7]))
    socks = {}
    for name in (if_a, if_b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        socks[name] = s
    peer = {socks[if_a]: socks[if_b], socks[if_b]: socks[if_a]}
    counts = {"frames": 0, "lost": 0, "duplicated": 0, "reordered": 0, "delayed": 0}
    queue = []  # (due, seq, socket, frame)
    seq = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    print("ready", flush=True)
    while not stop:
        timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else 0.5
        ready, _, _ = select.select(list(peer), [], [], timeout)
        for s in ready:
            while True:
                try:
                    frame, addr = s.recvfrom(65536)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue  # our own sends, seen again
                counts["frames"] += 1
                if rng.random() < loss:
                    counts["lost"] += 1
                    continue
                copies = 2 if rng.random() < dup else 1
                if copies == 2:
                    counts["duplicated"] += 1
                for _ in range(copies):
                    if rng.random() < reorder:
                        counts["reordered"] += 1
                        peer[s].send(frame)
                    else:
                        counts["delayed"] += 1
                        seq += 1
                        heapq.heappush(queue, (time.monotonic() + delay_ms / 1000, seq, peer[s], frame))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, frame = heapq.heappop(queue)
            try:
                out.send(frame)
            except OSError:
                counts["lost"] += 1
    print(counts, flush=True)


if __name__ == "__main__":
    main()
