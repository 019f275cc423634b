#!/usr/bin/env python3
"""bench/pty_keys.py — keystroke -> screen through a real pseudo-terminal.

Starts a program on a pty of COLSxROWS, waits until WAIT_FOR (a regex) is on
its output (the time it took is "first screen"), then writes each key of the
script to the pty and measures the time until the program's output in answer
has stopped arriving (the changed cells read back: an output burst, ended by
QUIET_MS of silence, counted from the key's write to the burst's last byte).

    pty_keys.py [--cols 120 --rows 40 --wait REGEX --quiet-ms 5 --keys j*200,k*50,...] -- argv...

Prints JSON: {"first_screen_ms": …, "keys": {"j": [ms, …], …}, "answer_bytes":
{"j": [bytes of each answer, …], …}, "timeouts": n, "timed_out": [labels],
"pid": …, "vm_rss_kb": …, "vm_hwm_kb": … (the child's /proc status just
before it is told to quit), "screen": the final screen as text, …}.
Key names: j, k, G, g, N, A, '/', Esc, Enter, C-w (ctrl), text:abc (each char).
Before each key, output still arriving (a clock tick's redraw, the end of the
previous answer) is read until QUIET_MS of silence ("stray_bytes"), so that
it is not counted as the key's answer.
Steps that are not keys (nothing is timed for them):
  sleep:MS       read the output for MS ms ("sleeps": [{"ms", "bytes", "bursts"}, …] in order)
  rss:LABEL      the child's VmRSS/VmHWM and CPU time now: "rss": {LABEL: {"rss_kb", "hwm_kb", "cpu_s"}}
  screen:LABEL   once the output is quiet (200 ms), the screen as text in "screens"
  mark:PREFIX    the keys that follow are labelled PREFIX:KEY ("mark:" alone: no prefix)
  touch:PATH     create the file PATH (another process can start on it)
  wait:REGEX     read until REGEX is on the screen (at most 120 s); "waits": {REGEX: ms since
                 the start, or null} (a REGEX holds no comma)
The screen is kept by a small emulator of what vcli's grid writes (cursor
moves, SGR, erase, UTF-8 text); output is parsed between keys, never while a
key's answer is being timed.
"""
import json, os, pty, re, select, signal, struct, sys, time, fcntl, termios, unicodedata

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

class Screen:
    """Just enough of a terminal for what vcli draws in the alternate screen."""
    CSI = re.compile(rb"\x1b\[([?0-9;]*)([@-~])")
    def __init__(self, cols, rows):
        self.w, self.h = cols, rows
        self.cells = [[" "] * cols for _ in range(rows)]
        self.x = self.y = 0
        self.pending = b""
    def feed(self, data):
        data = self.pending + data
        self.pending = b""
        i, n = 0, len(data)
        text = bytearray()
        def put_text():
            if text:
                self.put(text.decode("utf-8", "replace"))
                text.clear()
        while i < n:
            c = data[i]
            if c == 0x1b:
                put_text()
                if i + 1 >= n: self.pending = data[i:]; return
                if data[i + 1] == ord("["):
                    m = self.CSI.match(data, i)
                    if not m:
                        if n - i < 32: self.pending = data[i:]; return
                        i += 2; continue
                    self.csi(m.group(1).decode(), m.group(2).decode())
                    i = m.end(); continue
                if data[i + 1] == ord("]"):  # OSC: up to BEL or ST
                    j = data.find(b"\x07", i)
                    k = data.find(b"\x1b\\", i)
                    ends = [e for e in (j + 1 if j >= 0 else -1, k + 2 if k >= 0 else -1) if e > 0]
                    if not ends: self.pending = data[i:]; return
                    i = min(ends); continue
                i += 2; continue
            if c == 0x0d: put_text(); self.x = 0; i += 1; continue
            if c == 0x0a: put_text(); self.y = min(self.h - 1, self.y + 1); i += 1; continue
            if c == 0x08: put_text(); self.x = max(0, self.x - 1); i += 1; continue
            if c < 0x20 or c == 0x7f: i += 1; continue
            if c >= 0x80:  # keep a UTF-8 sequence whole
                ln = 2 if c >= 0xc0 else 1
                if c >= 0xe0: ln = 3
                if c >= 0xf0: ln = 4
                if i + ln > n: put_text(); self.pending = data[i:]; return
                text += data[i:i + ln]; i += ln; continue
            text.append(c); i += 1
        put_text()
    def put(self, s):
        for ch in s:
            wide = unicodedata.east_asian_width(ch) in ("W", "F")
            if self.x >= self.w:
                self.x = 0; self.y = min(self.h - 1, self.y + 1)
            if 0 <= self.y < self.h and self.x < self.w:
                self.cells[self.y][self.x] = ch
                if wide and self.x + 1 < self.w: self.cells[self.y][self.x + 1] = ""
            self.x += 2 if wide else 1
    def csi(self, params, final):
        if params.startswith("?"):
            return
        ps = [int(p) if p else 0 for p in params.split(";")] if params else []
        def p(i, d):
            return ps[i] if len(ps) > i and ps[i] else d
        if final in "Hf":
            self.y = min(self.h - 1, p(0, 1) - 1); self.x = min(self.w - 1, p(1, 1) - 1)
        elif final == "A": self.y = max(0, self.y - p(0, 1))
        elif final == "B": self.y = min(self.h - 1, self.y + p(0, 1))
        elif final == "C": self.x = min(self.w - 1, self.x + p(0, 1))
        elif final == "D": self.x = max(0, self.x - p(0, 1))
        elif final == "G": self.x = min(self.w - 1, p(0, 1) - 1)
        elif final == "J":
            mode = ps[0] if ps else 0
            if mode == 2 or mode == 3:
                self.cells = [[" "] * self.w for _ in range(self.h)]
            elif mode == 0:
                self.erase_line(0)
                for y in range(self.y + 1, self.h): self.cells[y] = [" "] * self.w
        elif final == "K":
            self.erase_line(ps[0] if ps else 0)
    def erase_line(self, mode):
        row = self.cells[self.y]
        rng = range(self.x, self.w) if mode == 0 else range(0, self.x + 1) if mode == 1 else range(self.w)
        for x in rng: row[x] = " "
    def text(self):
        return "\n".join("".join(r).rstrip() for r in self.cells)

def status_of(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"): out[k] = int(v.split()[0])
    except OSError:
        pass
    cpu = None
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rpartition(")")[2].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    except (OSError, IndexError, ValueError):
        pass
    return {"rss_kb": out.get("VmRSS"), "hwm_kb": out.get("VmHWM"), "cpu_s": cpu}

def main():
    o = parse()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = os.environ.get("TERM", "xterm-256color")
        os.execvp(o["argv"][0], o["argv"])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", o["rows"], o["cols"], 0, 0))
    os.kill(pid, signal.SIGWINCH)
    scr = Screen(o["cols"], o["rows"])
    raw = []  # output not yet given to the emulator

    def read():
        try: data = os.read(fd, 65536)
        except OSError: return None
        raw.append(data)
        return data

    def parse_raw():
        for d in raw: scr.feed(d)
        raw.clear()

    def drain(quiet_s, max_s):
        end = time.monotonic() + max_s
        quiet_until = time.monotonic() + quiet_s
        n = 0
        while time.monotonic() < min(end, quiet_until):
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                d = read()
                if d is None: break
                n += len(d); quiet_until = time.monotonic() + quiet_s
        parse_raw()
        return n

    def finish(res):
        st = status_of(pid)
        res["pid"], res["vm_rss_kb"], res["vm_hwm_kb"] = pid, st["rss_kb"], st["hwm_kb"]
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f: res["children"] = f.read().split()
        except OSError: pass
        drain(0.05, 0.5)
        res["screen"] = scr.text()
        try: os.write(fd, b"\x03")
        except OSError: pass
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig:
                try: os.kill(pid, sig)
                except ProcessLookupError: pass
            end = time.monotonic() + 1.0
            done = False
            while time.monotonic() < end:
                try:
                    wpid, status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done = True; break
                if wpid == pid:
                    res["exit"] = status; done = True; break
                r, _, _ = select.select([fd], [], [], 0.05)
                if r:
                    try: os.read(fd, 65536)
                    except OSError: pass
            if done: break
        print(json.dumps(res))

    buf = b""
    t0 = time.monotonic()
    first = None
    pat = re.compile(o["wait"].encode()) if o["wait"] else None
    deadline = t0 + 120
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            data = read()
            if data is None: break
            buf += data
            if pat is None or pat.search(buf[-200000:]):
                first = (time.monotonic() - t0) * 1000
                break
    res = {"first_screen_ms": first, "keys": {}, "timeouts": 0, "rss": {}, "screens": {}, "sleeps": [], "waits": {}}
    if first is None:
        parse_raw()
        res["error"] = "the first screen never showed %r; last output: %r" % (o["wait"], buf[-400:])
        finish(res); return
    script = []
    for part in o["keys"].split(","):
        if not part: continue
        if part.startswith("text:"):
            script += [("text", c) for c in part[5:]]
            continue
        cmd, colon, arg = part.partition(":")
        if colon and cmd in ("sleep", "rss", "screen", "mark", "touch", "wait"):
            script.append(("@" + cmd, arg))
            continue
        name, _, n = part.partition("*")
        script += [(name, name)] * int(n or 1)
    if script:  # let the rest of the first screen (and later chunks) settle
        drain(0.5, 30)
        res["settled_ms"] = (time.monotonic() - t0) * 1000
    prefix = ""
    for label, k in script:
        if label[0] == "@":
            if label == "@mark": prefix = k + ":" if k else ""
            elif label == "@rss": res["rss"][k] = status_of(pid)
            elif label == "@screen":
                drain(0.2, 3); res["screens"][k] = scr.text()
            elif label == "@wait":
                wre = re.compile(k, re.M)
                end = time.monotonic() + 120
                res["waits"][k] = None
                parse_raw()
                while time.monotonic() < end:
                    if wre.search(scr.text()):
                        res["waits"][k] = (time.monotonic() - t0) * 1000; break
                    r, _, _ = select.select([fd], [], [], 0.05)
                    if r:
                        if read() is None: break
                        while True:  # take what is there before looking again
                            r, _, _ = select.select([fd], [], [], 0)
                            if not r or read() is None: break
                        parse_raw()
            elif label == "@touch":
                open(k, "w").close()
            elif label == "@sleep":
                end = time.monotonic() + float(k) / 1000
                nbytes, bursts, last = 0, 0, 0
                while time.monotonic() < end:
                    r, _, _ = select.select([fd], [], [], 0.05)
                    if r:
                        d = read()
                        if d is None: break
                        now = time.monotonic()
                        if now - last > o["quiet"] / 1000: bursts += 1
                        nbytes += len(d); last = now
                    if len(raw) > 64: parse_raw()
                parse_raw()
                res["sleeps"].append({"ms": float(k), "bytes": nbytes, "bursts": bursts})
            continue
        label = prefix + label
        # what is still arriving (a tick's redraw, the rest of the previous
        # answer) is not this key's answer: wait for QUIET_MS of silence first
        quiet_until, stop = time.monotonic() + o["quiet"] / 1000, time.monotonic() + 0.2
        while time.monotonic() < min(quiet_until, stop):
            r, _, _ = select.select([fd], [], [], max(0, min(quiet_until, stop) - time.monotonic()))
            if r:
                d = read()
                if d is None: break
                res["stray_bytes"] = res.get("stray_bytes", 0) + len(d)
                quiet_until = time.monotonic() + o["quiet"] / 1000
        # the time before the write: writing wakes the program, which may run
        # (and answer) before this process is given the CPU back
        ts = time.monotonic()
        os.write(fd, key_bytes(k))
        last = None
        nbytes = 0
        end = ts + o["timeout"]
        while time.monotonic() < end:
            wait = o["quiet"] / 1000 if last else 0.5
            r, _, _ = select.select([fd], [], [], wait)
            if r:
                d = read()
                if d is None: break
                nbytes += len(d)
                last = time.monotonic()
            elif last:
                break
        parse_raw()
        if last is None: res["timeouts"] += 1; res.setdefault("timed_out", []).append(label)
        else:
            res["keys"].setdefault(label, []).append((last - ts) * 1000)
            res.setdefault("answer_bytes", {}).setdefault(label, []).append(nbytes)
    finish(res)

main()
