# gdb script for trace-idle.sh. `arm()`, once mgm is loaded (`starti`): a breakpoint where it
# is ready (`release_startup`, which drops the start-up code pages). `install()`, stopped there:
# a breakpoint on every other function of the binary, each recording its first hit and then
# disabling itself, so the idle daemon soon runs at full speed. The functions on the threads'
# stacks at that moment (the loop, the runtimes, the control thread) run too, on their way back:
# they come first. `dump()`: the functions, in that order.
import bisect
import os
import subprocess

import gdb

OUT = os.environ["MGM_TRACE_OUT"]
functions = []
starts = []
order = []
seen = set()


def note(name):
    if name not in seen:
        seen.add(name)
        order.append(name)


def arm():
    pid = gdb.selected_inferior().pid
    exe = os.readlink(f"/proc/{pid}/exe")
    base = None
    for line in open(f"/proc/{pid}/maps"):
        f = line.split()
        if len(f) >= 6 and f[5] == exe and int(f[2], 16) == 0:
            base = int(f[0].split("-")[0], 16)
            break
    nm = subprocess.run(["nm", "-S", "-n", exe], capture_output=True, text=True, check=True)
    for line in nm.stdout.splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in "tT" and int(f[1], 16) > 0:
            functions.append((base + int(f[0], 16), int(f[1], 16), f[3]))
    starts.extend(f[0] for f in functions)
    ready = [a for a, _, n in functions if "6memory15release_startup" in n]
    if not ready:
        # Inlined or renamed: without it the trace would wait forever for the daemon to be ready.
        print("trace-idle: no sys::memory::release_startup in the binary (inlined?); giving up")
        gdb.execute("kill")
        gdb.execute("quit 1")
    gdb.Breakpoint(f"*{ready[0]:#x}", temporary=True)


class FirstHit(gdb.Breakpoint):
    def __init__(self, addr, name):
        super().__init__(f"*{addr:#x}", internal=True)
        self.fname = name

    def stop(self):
        note(self.fname)
        self.enabled = False
        return False


def dump(_event):
    with open(OUT, "w") as out:
        out.writelines(n + "\n" for n in order)


def install():
    for thread in gdb.selected_inferior().threads():
        thread.switch()
        frame = gdb.newest_frame()
        while frame is not None:
            i = bisect.bisect_right(starts, frame.pc()) - 1
            if i >= 0 and frame.pc() < functions[i][0] + functions[i][1]:
                note(functions[i][2])
            frame = frame.older()
    for addr, _size, name in functions:
        if name not in seen:
            FirstHit(addr, name)
    gdb.write(f"{len(functions)} functions, {len(order)} on the stacks\n")
    open(OUT + ".ready", "w").close()
