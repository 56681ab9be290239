#!/usr/bin/env python3
"""One LAN host sending to a group from many source addresses, as a hostile host does to make
the router create an (S,G) entry per address (python3 standard library only).

Usage: many_sources.py IFADDR GROUP PORT SECONDS SOURCE_RANGE...

SOURCE_RANGE is FIRST+COUNT (e.g. 198.51.100.100+100): COUNT consecutive addresses from FIRST.
Sends UDP datagrams to GROUP:PORT out of the interface with address IFADDR through a raw
socket with IP_HDRINCL, so each can carry any source address: one datagram from every source
in turn, a round about every 100 ms, for SECONDS (at most 60). TTL 8, no UDP checksum. Prints
"sent N in R rounds" at the end. The tests give it only documentation ranges and 239.0.0.0/8.
"""
import socket
import struct
import sys
import time


def addresses(spec):
    first, count = spec.split("+")
    base = struct.unpack("!I", socket.inet_aton(first))[0]
    return [socket.inet_ntoa(struct.pack("!I", base + i)) for i in range(int(count))]


def datagram(src, group, port, payload):
    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
    # Version 4, IHL 5; total length, id and header checksum are filled in by the kernel.
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0, 8, socket.IPPROTO_UDP, 0,
        socket.inet_aton(src), socket.inet_aton(group),
    )
    return ip + udp


def main():
    ifaddr, group, port, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    sources = [a for spec in sys.argv[5:] for a in addresses(spec)]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    packets = [datagram(src, group, port, b"spoofed") for src in sources]
    end = time.monotonic() + min(seconds, 60.0)
    sent = rounds = 0
    while True:
        for p in packets:
            s.sendto(p, (group, 0))
            sent += 1
        rounds += 1
        if time.monotonic() >= end:
            break
        time.sleep(0.1)
    print("sent %d in %d rounds" % (sent, rounds), flush=True)


main()
