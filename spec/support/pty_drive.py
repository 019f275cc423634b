# Drive an interactive program on a pseudo-terminal (specs):
#   python3 pty_drive.py STEPS_JSON ARGV...
# STEPS_JSON is a list of ["send", text] / ["expect", text]; prints OK or
# TIMEOUT, then everything the terminal showed.
import json, os, pty, select, sys, time

steps = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
seen = b""
pos = 0   # where the last expected text ended: each expect looks after it


def read_until(text, timeout):
    """True once text shows after the last expected one (already there, or
    within timeout seconds)"""
    global seen, pos
    want = text.encode()
    end = time.time() + timeout
    while True:
        at = seen.find(want, pos)
        if at >= 0:
            pos = at + len(want)
            return True
        left = end - time.time()
        if left <= 0:
            return False
        r, _, _ = select.select([fd], [], [], min(0.05, left))
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return False
            if not data:
                return False
            seen += data


ok = True
for kind, text in steps:
    if kind == "send":
        time.sleep(0.1)
        os.write(fd, text.encode())
    elif not read_until(text, 20):
        ok = False
        break
os.kill(pid, 9)
sys.stdout.write(("OK\n" if ok else "TIMEOUT\n") + seen.decode("utf-8", "replace"))
