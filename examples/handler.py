#!/usr/bin/env python3
"""A routing protocol in another process, written with Python's standard library only: it
speaks mgm's handler protocol (docs/handler-protocol.md) over the control socket.

It registers as NAME, takes the interfaces given with --take (those reserved for it with
`mgm run -i IF,protocol=NAME` come with the registration), prints every callback line it
receives as it came (one JSON object per line), forwards to the receivers on its interfaces
as mgm's built-in `local` does (each local_join becomes its membership, each local_leave
removes it), and answers the callbacks that ask: RPF accepted as proposed, creation alerts with
the --veto interfaces refused, prune alerts with mgm's proposed lifetime.

    examples/handler.py --socket /run/mgm/mgm.sock --name myproto --take eth2

--no-answer leaves the questions unanswered (mgm takes its defaults after the deadline);
--once-registered prints the registration result and exits.
"""
import argparse
import json
import socket
import sys

VERSION = 2


class Mgm:
    """One connection: requests with ids, callbacks queued while a response is awaited."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.reader = self.sock.makefile("r", encoding="utf-8")
        self.next_id = 1
        self.queued = []

    def send(self, obj):
        self.sock.sendall((json.dumps(obj) + "\n").encode())

    def request(self, command, **args):
        rid = self.next_id
        self.next_id += 1
        self.send(dict(command=command, id=rid, **args))
        while True:
            msg = self.read()
            if "callback" in msg:
                self.queued.append(msg)
                continue
            if msg.get("id") not in (None, rid):
                continue
            if msg.get("version") != VERSION:
                raise SystemExit("mgm speaks protocol version %s, this client %s"
                                 % (msg.get("version"), VERSION))
            if not msg["ok"]:
                raise RuntimeError(msg.get("error"))
            return msg.get("data")

    def callback(self):
        if self.queued:
            return self.queued.pop(0)
        while True:
            msg = self.read()
            if "callback" in msg:
                return msg

    def read(self):
        line = self.reader.readline()
        if not line:
            raise SystemExit("mgm closed the connection")
        return json.loads(line)


def answer(args, cb):
    """The answer to a callback that carries an id."""
    a = {"callback_id": cb["id"]}
    kind = cb["callback"]
    if kind == "rpf":
        a["verdict"] = "accept"
    elif kind == "creation_alert":
        a["vetoed"] = [o["interface"] for o in cb["oifs"] if o["interface"] in args.veto]
    elif kind == "prune_alert":
        a["timeout_s"] = cb["timeout_s"]
    return a


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--socket", default="/run/mgm/mgm.sock")
    p.add_argument("--name", required=True)
    p.add_argument("--take", action="append", default=[])
    p.add_argument("--veto", action="append", default=[])
    p.add_argument("--no-answer", action="store_true")
    p.add_argument("--once-registered", action="store_true")
    args = p.parse_args()

    mgm = Mgm(args.socket)
    try:
        reg = mgm.request("register", name=args.name)
    except RuntimeError as e:
        print(json.dumps({"error": str(e)}), flush=True)
        sys.exit(1)
    print(json.dumps({"registered": reg}), flush=True)
    if args.once_registered:
        return
    for ifname in args.take:
        if ifname not in reg["interfaces"]:
            mgm.request("take_interface", interface=ifname)
    while True:
        cb = mgm.callback()
        print(json.dumps(cb), flush=True)
        if "id" in cb and not args.no_answer:
            mgm.send(dict(command="answer", **answer(args, cb)))
        if cb["callback"] in ("local_join", "local_leave"):
            command = "add_membership" if cb["callback"] == "local_join" else "delete_membership"
            try:
                mgm.request(command, interface=cb["interface"],
                            source=cb["source"], group=cb["group"])
            except RuntimeError as e:
                if "not found" not in str(e):
                    print(json.dumps({"error": str(e)}), flush=True)


if __name__ == "__main__":
    main()
