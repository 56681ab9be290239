#!/usr/bin/env python3
"""Changes the kernel's MFC the way another program can, behind the mroute socket's owner:
rtnetlink RTM_DELROUTE / RTM_NEWROUTE of family RTNL_FAMILY_IPMR (ipmr_rtm_route).

    mfc_netlink.py del SOURCE GROUP
    mfc_netlink.py set SOURCE GROUP IIF        (an entry with no outgoing interface)

Prints nothing and exits 0 when the kernel acknowledged; else the error and exits 1."""
import os
import socket
import struct
import sys

RTM_NEWROUTE, RTM_DELROUTE = 24, 25
NLM_F_REQUEST, NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE = 1, 4, 0x400, 0x100
RTA_DST, RTA_SRC, RTA_IIF, RTA_TABLE = 1, 2, 3, 15
RTNL_FAMILY_IPMR, RTPROT_MROUTED, RTN_MULTICAST, RT_TABLE_DEFAULT = 128, 17, 5, 253


def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * ((4 - n % 4) % 4)


def main():
    op, source, group = sys.argv[1], sys.argv[2], sys.argv[3]
    rtm = struct.pack("=BBBBBBBBI", RTNL_FAMILY_IPMR, 32, 32, 0, RT_TABLE_DEFAULT,
                      RTPROT_MROUTED, 0, RTN_MULTICAST, 0)
    body = rtm + attr(RTA_SRC, socket.inet_aton(source)) + attr(RTA_DST, socket.inet_aton(group))
    body += attr(RTA_TABLE, struct.pack("=I", RT_TABLE_DEFAULT))
    if op == "set":
        body += attr(RTA_IIF, struct.pack("=I", socket.if_nametoindex(sys.argv[4])))
        kind, flags = RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE
    else:
        kind, flags = RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK
    msg = struct.pack("=IHHII", 16 + len(body), kind, flags, 1, 0) + body
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.bind((0, 0))
    s.send(msg)
    reply = s.recv(65536)
    _, rtype, _, _, _ = struct.unpack("=IHHII", reply[:16])
    code = struct.unpack("=i", reply[16:20])[0] if rtype == 2 else 0
    if code != 0:
        print(f"{op} ({source},{group}): {os.strerror(-code)}", file=sys.stderr)
        sys.exit(1)


main()
