"""A host of the demo lab, driven line by line on stdin (one command per line):

  ifaddr ADDR      the interface address for joins and for sending
  join G           any-source join (IP_ADD_MEMBERSHIP: IGMPv3 EXCLUDE {}, or a v2 report)
  leave G          drop it
  sjoin G S        source-specific join (IP_ADD_SOURCE_MEMBERSHIP: IGMPv3 INCLUDE {S})
  sleave G S       drop that source (the last one: the host leaves the group)
  recv PORT        print "rx SEQ" for each datagram "seq SEQ" received on UDP PORT
  send G PORT MS   send "seq 0", "seq 1", ... to G:PORT, one every MS milliseconds, TTL 8

Prints "ok CMD" after each command, "error CMD REASON" when it fails.
"""
import socket, struct, sys, threading, time

ctl = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
lock = threading.Lock()
ifaddr = "0.0.0.0"


def say(line):
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def mreq(g, s=None):
    parts = [socket.inet_aton(g), socket.inet_aton(ifaddr)]
    if s is not None:
        parts.append(socket.inet_aton(s))
    return b"".join(parts)


def receiver(port):
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    r.bind(("0.0.0.0", port))
    while True:
        data, _ = r.recvfrom(2048)
        w = data.split()
        if len(w) == 2 and w[0] == b"seq":
            say("rx %s" % w[1].decode())


def sender(g, port, ms):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 8)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ifaddr))
    n = 0
    while True:
        s.sendto(b"seq %d" % n, (g, port))
        n += 1
        time.sleep(ms / 1000.0)


for line in sys.stdin:
    w = line.split()
    if not w:
        continue
    c = w[0]
    try:
        if c == "ifaddr":
            ifaddr = w[1]
        elif c == "join":
            ctl.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq(w[1]))
        elif c == "leave":
            ctl.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, mreq(w[1]))
        elif c == "sjoin":
            ctl.setsockopt(socket.IPPROTO_IP, 39, mreq(w[1], w[2]))  # IP_ADD_SOURCE_MEMBERSHIP
        elif c == "sleave":
            ctl.setsockopt(socket.IPPROTO_IP, 40, mreq(w[1], w[2]))  # IP_DROP_SOURCE_MEMBERSHIP
        elif c == "recv":
            threading.Thread(target=receiver, args=(int(w[1]),), daemon=True).start()
        elif c == "send":
            threading.Thread(target=sender, args=(w[1], int(w[2]), int(w[3])), daemon=True).start()
        else:
            say("error %s unknown command" % c)
            continue
        say("ok %s" % c)
    except OSError as e:
        say("error %s %s" % (c, e))
