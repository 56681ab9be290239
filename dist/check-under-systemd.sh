#!/bin/bash
# Runs the packaged mgm.service under a real systemd on a machine whose PID 1 is not systemd
# (this VM, CI, containers), and checks what the unit promises.
#
# How: a systemd user manager running as root (it applies the same sandboxing as the system
# manager), in a private mount namespace where /run/systemd/system exists (so it believes the
# system booted with systemd), with a journald of its own on tmpfs. The unit is used as
# packaged; a drop-in only points ExecStart at the unpacked binary, runs it in the network
# namespace of a small lab (NetworkNamespacePath=) and gives MGM_ARGS. Nothing but two
# directories, the lab's namespaces, a cgroup and a pin directory of its own is touched on the
# host; all go at the end.
#
# Checks: the Type=notify start returns once the interfaces are managed, with its STATUS; the
# sandbox as the kernel shows it (capability sets, no_new_privs, seccomp, read-only root, the
# writable pin directory); a host's join seen through the control socket; `systemctl reload`
# failing visibly when there is no file to re-read, SIGHUP logged as changing nothing; journald priorities; a clean stop; an empty MGM_ARGS failing once, as an
# error, without restarts.
#
# usage: dist/check-under-systemd.sh [PACKAGE.deb]    (root; default: target/dist/mgm_*.deb)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
deb=${1:-$(ls -t "$here"/target/dist/mgm_*.deb 2>/dev/null | head -1)}
[ -f "$deb" ] || { echo "no package: run cargo xtask dist first" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 2; }
[ -x /lib/systemd/systemd ] || { echo "needs the systemd package" >&2; exit 2; }

id=$$
# Everything of the check, the user manager's XDG_RUNTIME_DIR (its notify socket, the unit's
# RuntimeDirectory=) included, is under /var/lib: not /tmp (PrivateTmp=yes), nor /run, which a
# user manager replaces by an empty tmpfs for a unit with ProtectControlGroups= (the system
# manager does not: its notify socket and /run/mgm are where the unit expects them).
W=/var/lib/mgm-unit-check.$id
X=$W/xdg
R=mgmu$id-r H=mgmu$id-h RIF=mgmur$id HIF=mgmuh$id
pins=/sys/fs/bpf/mgm-unit-check-$id
cg_dirs=()
holder= journald= manager=

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

cleanup() {
    set +e
    if [ -n "${KEEP:-}" ]; then echo "kept: $W, holder $holder" >&2; return; fi
    if [ -n "$manager" ]; then
        user_ctl stop mgm.service >/dev/null 2>&1
        kill -TERM "$manager" 2>/dev/null
    fi
    [ -n "$journald" ] && kill -TERM "$journald" 2>/dev/null
    sleep 1
    [ -n "$holder" ] && kill -KILL "$holder" 2>/dev/null
    ip netns del "$R" 2>/dev/null
    ip netns del "$H" 2>/dev/null
    rm -rf "$pins" "$W"
    for d in "${cg_dirs[@]}"; do
        find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
}
trap cleanup EXIT

in_ns() { nsenter -t "$holder" -m -- "$@"; }
# The same, from a process moved into the check's cgroups first (what systemd will manage).
in_cg_ns() {
    for d in "${cg_dirs[@]}"; do echo $BASHPID > "$d/cgroup.procs"; done
    exec nsenter -t "$holder" -m -- "$@"
}
user_ctl() { in_ns env XDG_RUNTIME_DIR=$X systemctl --user "$@"; }
prop() { user_ctl show mgm.service -p "$1" --value; }

mkdir -p "$W" "$X" && chmod 700 "$X"
dpkg-deb -x "$deb" "$W/tree"

# The lab: the daemon's namespace with one interface, a host beside it.
ip netns add "$R"
ip netns add "$H"
ip link add "$RIF" netns "$R" type veth peer name "$HIF" netns "$H"
ip -n "$R" addr add 192.0.2.1/24 dev "$RIF"
ip -n "$H" addr add 192.0.2.11/24 dev "$HIF"
for x in "$R lo" "$R $RIF" "$H lo" "$H $HIF"; do set -- $x; ip -n "$1" link set "$2" up; done

# A cgroup of its own in every hierarchy systemd uses (hybrid: name=systemd and unified).
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    cg_dirs=(/sys/fs/cgroup/mgm-unit-check-$id)
else
    cg_dirs=(/sys/fs/cgroup/systemd/mgm-unit-check-$id)
    [ -d /sys/fs/cgroup/unified ] && cg_dirs+=(/sys/fs/cgroup/unified/mgm-unit-check-$id)
fi
for d in "${cg_dirs[@]}"; do mkdir -p "$d"; done

# The mount namespace: held by a sleeping process, entered for everything below.
unshare --mount --propagation private sleep infinity &
holder=$!
disown "$holder"
sleep 0.3
# What PID 1 would have made: /run/systemd/system (booted with systemd), the inaccessible
# nodes that ProtectHome=, ProtectKernelTunables= and the like mount over what they hide
# (without them the service fails with 226/NAMESPACE), and journald's runtime directories;
# journald does not read the kernel's log (the host's, and noisy).
in_ns sh -c '
    set -e
    mount -t tmpfs tmpfs /run/systemd
    mkdir -p /run/systemd/system /run/systemd/inaccessible
    cd /run/systemd/inaccessible
    mkdir -m 0 dir; install -m 0 /dev/null reg; mkfifo -m 0 fifo
    mknod -m 0 chr c 0 0; mknod -m 0 blk b 0 0
    python3 -c "import socket; socket.socket(socket.AF_UNIX).bind(\"sock\")"; chmod 0 sock
    mount -t tmpfs tmpfs /run/log && mkdir -p /run/log/journal
    if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
    printf "[Journal]\nReadKMsg=no\nStorage=volatile\n" > /run/systemd/journald.conf
    mount --bind /run/systemd/journald.conf /etc/systemd/journald.conf'
(in_cg_ns /lib/systemd/systemd-journald >/dev/null 2>&1) &
journald=$!
for _ in $(seq 50); do in_ns test -S /run/systemd/journal/stdout && break; sleep 0.1; done
in_ns test -S /run/systemd/journal/stdout || fail "journald did not start"
(in_cg_ns env XDG_RUNTIME_DIR=$X SYSTEMD_LOG_TARGET=console /lib/systemd/systemd --user \
    >"$W/manager.log" 2>&1) &
manager=$!
for _ in $(seq 50); do [ -S $X/systemd/private ] && break; sleep 0.1; done
[ -S $X/systemd/private ] || fail "the systemd user manager did not start"
ok "systemd $(systemctl --version | head -1 | cut -d' ' -f2) user manager as root, journald"

# The unit as packaged, and the check's drop-in.
units=$X/systemd/user
mkdir -p "$units/mgm.service.d"
cp "$W/tree/lib/systemd/system/mgm.service" "$units/"
cat > "$units/mgm.service.d/check.conf" <<EOF
[Service]
ExecStart=
ExecStart=$W/tree/usr/bin/mgm run \$MGM_ARGS
ExecReload=
ExecReload=$W/tree/usr/bin/mgm reload --socket $X/mgm/mgm.sock
NetworkNamespacePath=/run/netns/$R
EnvironmentFile=$W/mgm.env
EOF
socket=$X/mgm/mgm.sock              # RuntimeDirectory=mgm of a user manager: \$XDG_RUNTIME_DIR/mgm
echo "MGM_ARGS=\"-i $RIF -i mgmuwait$id --bpffs $pins --socket $socket --query-interval 2s --query-response-interval 1s\"
MGM_LOG=debug" > "$W/mgm.env"
user_ctl daemon-reload

timeout 30 nsenter -t "$holder" -m -- env XDG_RUNTIME_DIR=$X systemctl --user start mgm.service ||
    fail "systemctl start: $(user_ctl status --no-pager mgm.service 2>&1; in_ns journalctl -q --no-pager -n 20 SYSLOG_IDENTIFIER=mgm 2>&1; tail -20 "$W/manager.log")"
[ "$(prop ActiveState)" = active ] || fail "not active: $(prop ActiveState)"
status=$(prop StatusText)
case "$status" in
"managing 1 interface, waiting for mgmuwait$id; control socket $socket") ok "Type=notify start, STATUS=$status" ;;
*) fail "STATUS: $status" ;;
esac
[ -S "$socket" ] || fail "no control socket at start"
pid=$(prop MainPID)

# The sandbox as the kernel shows it.
caps=$(awk '/^CapEff/ {print $2}' /proc/$pid/status)
bnd=$(awk '/^CapBnd/ {print $2}' /proc/$pid/status)
want=000000c000003001   # CAP_BPF 39, CAP_PERFMON 38, CAP_NET_RAW 13, CAP_NET_ADMIN 12, CAP_CHOWN 0
[ "$caps" = $want ] && [ "$bnd" = $want ] || fail "capabilities: effective $caps, bounding $bnd"
grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$pid/status || fail "no_new_privs not set"
grep -q '^Seccomp:[[:space:]]*2' /proc/$pid/status || fail "no seccomp filter"
awk '$5 == "/" {print $6}' /proc/$pid/mountinfo | grep -q '^ro' || fail "/ is writable"
awk '$5 == "/sys/fs/bpf" {print $6}' /proc/$pid/mountinfo | grep -q '^rw' || fail "/sys/fs/bpf is not writable"
nsenter -t "$pid" -m -- sh -c 'touch /usr/mgm-check' 2>/dev/null && fail "/usr is writable"
ok "capabilities $caps, no_new_privs, seccomp, / read-only, /sys/fs/bpf writable"

# It works: a host joins, the daemon shows the group.
ip netns exec "$H" python3 -c "
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             struct.pack('4s4s', socket.inet_aton('239.1.2.3'), socket.inet_aton('192.0.2.11')))
time.sleep(4)" &
joiner=$!
for _ in $(seq 40); do
    "$W/tree/usr/bin/mgm" show groups --socket "$socket" | grep -q 239.1.2.3 && break
    sleep 0.1
done
"$W/tree/usr/bin/mgm" show groups --socket "$socket" | grep -q "$RIF.*239.1.2.3" ||
    fail "the join was not seen: $("$W/tree/usr/bin/mgm" show groups --socket "$socket")"
kill "$joiner" 2>/dev/null || true
ok "a host's join of 239.1.2.3 is in mgm show groups"

# Started from flags alone: `systemctl reload` has nothing to re-read and fails visibly (the
# packaged ExecReload is `mgm reload`, which exits 1), the daemon goes on; SIGHUP is logged.
if user_ctl reload mgm.service 2>/dev/null; then
    fail "systemctl reload succeeded with no configuration file to re-read"
fi
user_ctl kill -s HUP mgm.service
sleep 0.5
[ "$(prop MainPID)" = "$pid" ] || fail "reload restarted the daemon"
[ "$(prop ActiveState)" = active ] || fail "after reload: $(prop ActiveState)"
user_ctl stop mgm.service
[ "$(prop ActiveState)" = inactive ] && [ "$(prop Result)" = success ] ||
    fail "stop: $(prop ActiveState) $(prop Result)"
ok "reload kept the daemon, stop ended it cleanly"

# The journal: each line at its priority, no timestamps, no '<N>' left in the text.
journal=$(in_ns journalctl -q -o json SYSLOG_IDENTIFIER=mgm)
echo "$journal" | python3 -c "
import json, sys
entries = [json.loads(l) for l in sys.stdin if l.strip()]
def prio(text):
    for e in entries:
        if text in e['MESSAGE']:
            return e['PRIORITY']
    sys.exit('FAIL: no journal entry with ' + repr(text))
assert prio('managing $RIF') == '6', 'managing: ' + prio('managing $RIF')
assert prio('SIGHUP: nothing to reload') == '6'
# ExecReload's own output (mgm reload's refusal, on its stderr) is in the journal too.
assert any('nothing to reload: mgm runs from its command line alone' in e['MESSAGE']
           and not e['MESSAGE'].startswith('SIGHUP') for e in entries), 'no refusal of mgm reload'
assert prio('SIGTERM: shutting down') == '6'
assert any(e['PRIORITY'] == '7' for e in entries), 'no debug entry'
for e in entries:
    m = e['MESSAGE']
    assert not m.startswith('<') and not m.startswith('[20'), 'prefix left: ' + m
print('ok: journal priorities (managing 6, SIGHUP 6, debug 7), no timestamps,', len(entries), 'entries')
" || fail "journal"

# An empty MGM_ARGS: one failure at error priority, no restart loop (RestartPreventExitStatus=2).
echo 'MGM_ARGS=""' > "$W/mgm.env"
user_ctl daemon-reload
user_ctl start mgm.service 2>/dev/null && fail "started without interfaces"
sleep 3
[ "$(prop NRestarts)" = 0 ] || fail "restarted $(prop NRestarts) times"
in_ns journalctl -q -o json SYSLOG_IDENTIFIER=mgm | python3 -c "
import json, sys
errs = [json.loads(l) for l in sys.stdin if '--interface' in l]
assert errs and all(e['PRIORITY'] == '3' for e in errs), errs
" || fail "the usage error is not in the journal at error priority"
ok "empty MGM_ARGS: failed once (exit 2, no restart), the usage error at priority 3"
echo "mgm.service under systemd: all checks passed"
