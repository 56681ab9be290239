#!/usr/bin/env python3
"""A test host's multicast stack, driven line by line on stdin (one command per line); the
namespace tests' hosts and the demo's (`cargo xtask demo` includes this file):

  join G [IFADDR]        any-source join (IP_ADD_MEMBERSHIP)
  leave G                drop it (the kernel sends a leave / TO_IN{})
  sjoin G S              source-specific join (IP_ADD_SOURCE_MEMBERSHIP, INCLUDE mode)
  sleave G S             drop one source (IP_DROP_SOURCE_MEMBERSHIP; the last one: a leave)
  block G S              exclude a source of an any-source join (IP_BLOCK_SOURCE)
  recv PORT              count UDP datagrams to PORT; each prints
                         "rx <monotonic_ns> <src> <seq>" (seq: the datagram's "seq N", or -)
  send G PORT N IVAL_MS  send N datagrams "seq 0", "seq 1", ... to G:PORT, TTL 8, one every
                         IVAL_MS (N = 0: until the host goes)
  sweep G0 N PORT        one datagram to each of N consecutive groups from G0, TTL 8, at once
                         (N new (S,G) at the router together)
  ifaddr ADDR            interface address for joins and IP_MULTICAST_IF of later sends
  srcaddr ADDR           source address later sends bind to (default: the kernel's choice)
  quit

Prints "ok CMD" after each command so the driver can wait for it, "error CMD REASON" when it
fails. Uses only the documentation ranges the tests give it.
"""
import socket, struct, sys, threading, time

IP_ADD_MEMBERSHIP = 35
IP_DROP_MEMBERSHIP = 36
IP_UNBLOCK_SOURCE = 37
IP_BLOCK_SOURCE = 38
IP_ADD_SOURCE_MEMBERSHIP = 39
IP_DROP_SOURCE_MEMBERSHIP = 40

ctl = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
out_lock = threading.Lock()


def say(line):
    """One whole line per write, under a lock: the receiver thread and the command loop both
    print, and print() writes text and newline separately, which would interleave."""
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


ifaddr = "0.0.0.0"
srcaddr = None


def mreq(g):
    return struct.pack("4s4s", socket.inet_aton(g), socket.inet_aton(ifaddr))


def mreq_source(g, s):
    return struct.pack("4s4s4s", socket.inet_aton(g), socket.inet_aton(ifaddr), socket.inet_aton(s))


def receiver(port):
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    r.bind(("0.0.0.0", port))
    while True:
        data, (src, _) = r.recvfrom(2048)
        w = data.split()
        seq = w[1].decode() if len(w) == 2 and w[0] == b"seq" else "-"
        say("rx %d %s %s" % (time.monotonic_ns(), src, seq))


def sender(g, port, n, ival):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 8)
    if ifaddr != "0.0.0.0":
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
    if srcaddr is not None:
        s.bind((srcaddr, 0))
    i = 0
    while n == 0 or i < n:
        s.sendto(b"seq %d" % i, (g, port))
        i += 1
        time.sleep(ival / 1000.0)


def sweep(g0, n, port):
    """One datagram to each of n consecutive groups from g0, as fast as the socket takes them:
    n new (S,G) at the router at once."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 8)
    if ifaddr != "0.0.0.0":
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
    base = struct.unpack("!I", socket.inet_aton(g0))[0]
    for i in range(n):
        s.sendto(b"sweep", (socket.inet_ntoa(struct.pack("!I", base + i)), port))


for line in sys.stdin:
    w = line.split()
    if not w:
        continue
    c = w[0]
    try:
        if c == "join":
            if len(w) > 2:
                ifaddr = w[2]
            ctl.setsockopt(socket.IPPROTO_IP, IP_ADD_MEMBERSHIP, mreq(w[1]))
        elif c == "leave":
            ctl.setsockopt(socket.IPPROTO_IP, IP_DROP_MEMBERSHIP, mreq(w[1]))
        elif c == "sjoin":
            ctl.setsockopt(socket.IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, mreq_source(w[1], w[2]))
        elif c == "sleave":
            ctl.setsockopt(socket.IPPROTO_IP, IP_DROP_SOURCE_MEMBERSHIP, mreq_source(w[1], w[2]))
        elif c == "block":
            ctl.setsockopt(socket.IPPROTO_IP, IP_BLOCK_SOURCE, mreq_source(w[1], w[2]))
        elif c == "recv":
            threading.Thread(target=receiver, args=(int(w[1]),), daemon=True).start()
        elif c == "send":
            threading.Thread(target=sender, args=(w[1], int(w[2]), int(w[3]), int(w[4])), daemon=True).start()
        elif c == "sweep":
            sweep(w[1], int(w[2]), int(w[3]))
        elif c == "ifaddr":
            ifaddr = w[1]
        elif c == "srcaddr":
            srcaddr = w[1]
        elif c == "quit":
            break
        else:
            say("error %s unknown command" % c)
            continue
        say("ok %s" % c)
    except OSError as e:
        say("error %s %s" % (c, e))
