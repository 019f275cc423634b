#!/usr/bin/env python3
"""bench/pty_keys.py — keystroke -> screen through a real pseudo-terminal.

Starts a program on a pty of COLSxROWS, waits until WAIT_FOR (a regex) is on
its output (the time it took is "first screen"), then writes each key of the
script to the pty and measures the time until the program's output in answer
has stopped arriving (the changed cells read back: an output burst, ended by
QUIET_MS of silence, counted from the key's write to the burst's last byte).

    pty_keys.py [--cols 120 --rows 40 --wait REGEX --quiet-ms 5 --keys j*200,k*50,...] -- argv...

Prints JSON: {"first_screen_ms": …, "keys": {"j": [ms, …], …}, "timeouts": n}.
Key names: j, k, G, g, N, A, '/', Esc, Enter, C-w (ctrl), text:abc (each char).
"""
import json, os, pty, re, select, signal, struct, sys, time, fcntl, termios

def parse():
    a = sys.argv[1:]
    o = {"cols": 120, "rows": 40, "wait": None, "quiet": 5.0, "keys": "j*50", "timeout": 5.0}
    while a and a[0] != "--":
        k = a.pop(0)
        v = a.pop(0)
        if k == "--cols": o["cols"] = int(v)
        elif k == "--rows": o["rows"] = int(v)
        elif k == "--wait": o["wait"] = v
        elif k == "--quiet-ms": o["quiet"] = float(v)
        elif k == "--keys": o["keys"] = v
        elif k == "--timeout": o["timeout"] = float(v)
    if a and a[0] == "--": a.pop(0)
    o["argv"] = a
    return o

KEYS = {"Esc": b"\x1b", "Enter": b"\r", "Space": b" ", "Tab": b"\t", "Backspace": b"\x7f",
        "Up": b"\x1b[A", "Down": b"\x1b[B", "PageDown": b"\x1b[6~", "PageUp": b"\x1b[5~"}

def key_bytes(k):
    if k in KEYS: return KEYS[k]
    if k.startswith("C-") and len(k) == 3: return bytes([ord(k[2]) & 0x1f])
    return k.encode()

def main():
    o = parse()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = os.environ.get("TERM", "xterm-256color")
        os.execvp(o["argv"][0], o["argv"])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", o["rows"], o["cols"], 0, 0))
    os.kill(pid, signal.SIGWINCH)
    buf = b""
    t0 = time.monotonic()
    first = None
    pat = re.compile(o["wait"].encode()) if o["wait"] else None
    deadline = t0 + 120
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try: data = os.read(fd, 65536)
            except OSError: break
            buf += data
            if pat is None or pat.search(buf[-200000:]):
                first = (time.monotonic() - t0) * 1000
                break
    res = {"first_screen_ms": first, "keys": {}, "timeouts": 0}
    if first is None:
        res["error"] = "the first screen never showed %r; last output: %r" % (o["wait"], buf[-400:])
        print(json.dumps(res)); os.kill(pid, signal.SIGKILL); return
    # let the rest of the first screen (and later chunks) settle
    quiet_until = time.monotonic() + 1.0
    while time.monotonic() < quiet_until:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            os.read(fd, 65536); quiet_until = time.monotonic() + 0.5
    script = []
    for part in o["keys"].split(","):
        if part.startswith("text:"):
            script += [("text", c) for c in part[5:]]
            continue
        name, _, n = part.partition("*")
        script += [(name, name)] * int(n or 1)
    for label, k in script:
        os.write(fd, key_bytes(k))
        ts = time.monotonic()
        last = None
        end = ts + o["timeout"]
        while time.monotonic() < end:
            wait = o["quiet"] / 1000 if last else 0.5
            r, _, _ = select.select([fd], [], [], wait)
            if r:
                os.read(fd, 65536)
                last = time.monotonic()
            elif last:
                break
        if last is None: res["timeouts"] += 1
        else: res["keys"].setdefault(label, []).append((last - ts) * 1000)
    os.write(fd, b"\x03")
    time.sleep(0.3)
    try: os.kill(pid, signal.SIGTERM)
    except ProcessLookupError: pass
    try: os.waitpid(pid, 0)
    except ChildProcessError: pass
    print(json.dumps(res))

main()
