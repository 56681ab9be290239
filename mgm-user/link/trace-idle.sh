#!/bin/bash
# Regenerates idle-order.txt: runs the release mgm (its symbols, not stripped) under gdb on two
# veth interfaces in a namespace of its own and records every function it runs once ready
# (from `release_startup` on, which drops the start-up code pages), while idle: its loop's
# wake-ups and timers, a general query (intervals shortened so that one falls inside the
# trace), `mgm show interfaces` and `mgm show stats`.
# Needs root, gdb and nm. Usage: mgm-user/link/trace-idle.sh [target/release/mgm]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(readlink -f "${1:-$here/../../target/release/mgm}")
ns=mgm-trace-idle
dir=$(mktemp -d)
pins=/sys/fs/bpf/mgm-trace-idle
export MGM_TRACE_OUT=$dir/order
cleanup() {
    [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
    ip netns del $ns 2>/dev/null || true
    rm -rf "$pins" "$dir"
}
trap cleanup EXIT
ip netns add $ns
for i in 1 2; do
    ip -n $ns link add tr$i type veth peer name trp$i
    ip -n $ns addr add 198.51.100.$((i * 4 + 1))/30 dev tr$i
    ip -n $ns link set tr$i up
    ip -n $ns link set trp$i up
done
# Under gdb from the start: stopped once ready (`release_startup`), the breakpoints go in.
nsenter --net=/run/netns/$ns gdb -q -batch \
    -ex 'handle SIGTERM nostop noprint pass' -ex starti -ex "source $here/trace-idle.py" \
    -ex 'python arm()' -ex continue -ex 'python install()' -ex continue -ex 'python dump(None)' \
    --args "$bin" run -i tr1 -i tr2 --log warn \
    --startup-query-interval 4s --query-interval 12s \
    --bpffs $pins --socket "$dir/s.sock" >"$dir/gdb.log" 2>&1 &
gdb=$!
until [ -f "$MGM_TRACE_OUT.ready" ]; do
    kill -0 $gdb 2>/dev/null || { cat "$dir/gdb.log" >&2; exit 1; }
    sleep 0.2
done
pid=$(pgrep -f -n "bpffs $pins")
sleep 2
"$bin" show interfaces --socket "$dir/s.sock" >/dev/null
"$bin" show stats --socket "$dir/s.sock" >/dev/null
sleep 20
"$bin" show interfaces --socket "$dir/s.sock" >/dev/null
# Interrupted, not stopped: the shutdown path is not idle code. gdb then kills it.
kill -INT $gdb
wait $gdb || true
{
    grep '^#' "$here/idle-order.txt"
    cat "$MGM_TRACE_OUT"
} >"$here/idle-order.txt.new"
mv "$here/idle-order.txt.new" "$here/idle-order.txt"
echo "$(grep -vc '^#' "$here/idle-order.txt") functions in $here/idle-order.txt"
