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


def read_until(text, timeout):
    global seen
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return False
            if not data:
                return False
            seen += data
            if text.encode() in seen:
                return True
    return text.encode() in seen


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
