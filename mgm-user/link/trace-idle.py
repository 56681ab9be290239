# gdb script for trace-idle.sh: a breakpoint on every function of the attached mgm; each one
# records its first hit, then disables itself (an idle daemon keeps running at full speed).
# At the inferior's exit, the functions hit are written in the order of their first hit.
import gdb
import os
import subprocess

OUT = os.environ["MGM_TRACE_OUT"]
pid = gdb.selected_inferior().pid
exe = os.readlink(f"/proc/{pid}/exe")
base = None
for line in open(f"/proc/{pid}/maps"):
    f = line.split()
    if len(f) >= 6 and f[5] == exe and int(f[2], 16) == 0:
        base = int(f[0].split("-")[0], 16)
        break
nm = subprocess.run(["nm", "-S", exe], capture_output=True, text=True, check=True)
order = []


class FirstHit(gdb.Breakpoint):
    def __init__(self, addr, name):
        super().__init__(f"*{addr:#x}", internal=True)
        self.fname = name

    def stop(self):
        order.append(self.fname)
        self.enabled = False
        return False


count = 0
for line in nm.stdout.splitlines():
    f = line.split()
    if len(f) == 4 and f[2] in "tT" and int(f[1], 16) > 0:
        FirstHit(base + int(f[0], 16), f[3])
        count += 1
gdb.write(f"{count} breakpoints set\n")
open(OUT + ".ready", "w").close()


def dump(_event):
    with open(OUT, "w") as out:
        out.writelines(n + "\n" for n in order)


gdb.events.exited.connect(dump)
