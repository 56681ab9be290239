"""State-changing IGMP reports at a paced rate, for the slow-path benchmark (standard library only).

Usage: report_flood.py SRC_ADDR SCENARIO COUNT GROUPS RATE

Sends COUNT IGMP messages from SRC_ADDR (an address of this namespace), one every 1/RATE s
(RATE 0: as fast as the socket takes them), over GROUPS groups 239.1.0.1, 239.1.0.2, ... taken
in turn (message i is about group i % GROUPS, and its source 203.0.113.x / 198.51.100.y is the
(i // GROUPS)-th one). SCENARIO:
  join, refresh  IGMPv2 membership reports (to the group)
  leave    IGMPv2 leaves (to 224.0.0.2)
  allow    IGMPv3 reports, one ALLOW_NEW_SOURCES record with one source
  block    IGMPv3 reports, one BLOCK_OLD_SOURCES record with one source
  to_in    IGMPv3 reports, one CHANGE_TO_INCLUDE_MODE record with no source (a leave)
Router Alert set, TTL 1. Prints "sent N in S s" at the end.
"""
import socket
import struct
import sys
import time


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def group_address(g):
    return "239.1.%d.%d" % (g // 250, 1 + g % 250)


def source_address(k):
    return "203.0.113.%d" % (1 + k) if k < 250 else "198.51.100.%d" % (1 + k - 250)


def sealed(msg):
    msg = bytearray(msg)
    struct.pack_into("!H", msg, 2, csum(bytes(msg)))
    return bytes(msg)


def message(scenario, i, ngroups):
    group = group_address(i % ngroups)
    g = socket.inet_aton(group)
    if scenario in ("join", "refresh"):
        return sealed(struct.pack("!BBH4s", 0x16, 0, 0, g)), group
    if scenario == "leave":
        return sealed(struct.pack("!BBH4s", 0x17, 0, 0, g)), "224.0.0.2"
    if scenario == "to_in":
        record = struct.pack("!BBH4s", 3, 0, 0, g)
        return sealed(struct.pack("!BBHHH", 0x22, 0, 0, 0, 1) + record), "224.0.0.22"
    record_type = {"allow": 5, "block": 6}[scenario]
    src = socket.inet_aton(source_address(i // ngroups))
    record = struct.pack("!BBH4s4s", record_type, 0, 1, g, src)
    return sealed(struct.pack("!BBHHH", 0x22, 0, 0, 0, 1) + record), "224.0.0.22"


def main():
    src, scenario, count, ngroups, rate = sys.argv[1:6]
    count, ngroups, rate = int(count), int(ngroups), float(rate)
    packets = [message(scenario, i, ngroups) for i in range(count)]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b"\x94\x04\x00\x00")
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
    start = time.monotonic()
    step = 1.0 / rate if rate > 0 else 0.0
    for i, (msg, dst) in enumerate(packets):
        if step:
            due = start + i * step
            while True:
                ahead = due - time.monotonic()
                if ahead <= 0:
                    break
                if ahead > 0.002:
                    time.sleep(ahead - 0.001)
        s.sendto(msg, (dst, 0))
    print("sent %d in %.3f s" % (count, time.monotonic() - start))


main()
