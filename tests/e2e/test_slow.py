#  test_slow - slow consumers (issue 8): a client that stops reading costs a bounded amount of
#  the daemon's memory and never slows the others; the policies conflate, drop_oldest and
#  disconnect, chosen per client by its token
#
#  A stalled client is a raw socket that does the WebSocket handshake, subscribes, and then
#  never reads (its receive buffer made small, so the kernel does not hold megabytes for it).
#  Memory is the daemon's resident set (VmRSS), not its own counters.

import asyncio
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import time
import types

import websockets

sys.dont_write_bytecode = True
sys.path.insert (0, os.path.dirname (os.path.abspath (__file__)))
import tmharness as h
from tmharness import check, short

tap = h.Tap ()
FAST, DROP, CUT, PAUSE = (os.urandom (12).hex () for _ in range (4))
RATE = 2000                             #  SIM ticks a second over its 25 symbols
FAST_CLIENTS, STALLED = 90, 10
SYMBOLS = ["NIFTY-I", "BANKNIFTY-I", "FINNIFTY-I", "NIFTY 50", "NIFTY BANK", "NIFTY FIN SERVICE",
           "RELIANCE", "TCS", "INFY", "HDFCBANK", "ICICIBANK", "SBIN", "ITC", "LT", "AXISBANK",
           "KOTAKBANK", "BHARTIARTL", "HINDUNILVR", "BAJFINANCE", "MARUTI", "TATAMOTORS",
           "WIPRO", "SUNPHARMA", "TITAN", "ASIANPAINT"]


def token_block (name, token, policy=None):
    text = "token\n    name = %s\n    sha256 = %s\n" % (name, hashlib.sha256 (token.encode ()).hexdigest ())
    return text + ("    slow_policy = %s\n" % policy if policy else "")


def rss_kib (pid):
    with open ("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith ("VmRSS:"):
                return int (line.split () [1])
    h.fail ("no VmRSS for %d" % pid)


class Raw:
    """A WebSocket client on a bare socket, which reads only when told to."""

    def __init__ (self, port, token, rcvbuf=4096):
        self.sock = socket.socket ()
        self.sock.setsockopt (socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout (5)
        self.sock.connect (("127.0.0.1", port))
        key = base64.b64encode (os.urandom (16)).decode ()
        self.sock.sendall (("GET /ws?token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                            "Sec-WebSocket-Version: 13\r\n\r\n" % (token, key)).encode ())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv (4096)
            check (chunk, "the handshake closed")
            self.buf += chunk
        head, _, self.buf = self.buf.partition (b"\r\n\r\n")
        check (head.startswith (b"HTTP/1.1 101"), "handshake: %r" % head [:80])

    def send (self, obj):
        data = json.dumps (obj).encode ()
        mask = os.urandom (4)
        n = len (data)
        header = bytes ([0x81]) + (bytes ([0x80 | n]) if n < 126 else bytes ([0x80 | 126]) + struct.pack ("!H", n))
        self.sock.sendall (header + mask + bytes (b ^ mask [i % 4] for i, b in enumerate (data)))

    def read_frames (self, seconds):
        """Read for seconds (or to EOF); returns [(opcode, payload)] and whether EOF came."""
        deadline = time.monotonic () + seconds
        self.sock.settimeout (0.2)
        eof = False
        while time.monotonic () < deadline:
            try:
                chunk = self.sock.recv (1 << 20)
            except socket.timeout:
                continue
            except OSError:
                eof = True
                break
            if not chunk:
                eof = True
                break
            self.buf += chunk
        frames = []
        while len (self.buf) >= 2:
            opcode, n = self.buf [0] & 0x0F, self.buf [1] & 0x7F
            off = 2
            if n == 126:
                if len (self.buf) < 4:
                    break
                n, off = struct.unpack ("!H", self.buf [2:4]) [0], 4
            elif n == 127:
                if len (self.buf) < 10:
                    break
                n, off = struct.unpack ("!Q", self.buf [2:10]) [0], 10
            if len (self.buf) < off + n:
                break
            frames.append ((opcode, self.buf [off:off + n]))
            self.buf = self.buf [off + n:]
        return frames, eof

    def close (self):
        self.sock.close ()


async def fast_reader (ctx, i):
    """A client that keeps up: NIFTY-I, every receipt time by seq."""
    ws = await websockets.connect (ctx.d.ws_uri + "?token=" + FAST, max_queue=None,
                                   compression=None, open_timeout=10)
    await ws.send (json.dumps ({"type": "SUBSCRIBE", "symbol": "NIFTY-I"}))
    seen = {}
    ctx.seen.append (seen)
    try:
        async for raw in ws:
            if ctx.stop_fast:
                break
            m = json.loads (raw)
            if m.get ("type") == "MARKET_DATA":
                seen [m ["seq"]] = time.monotonic ()
    except websockets.ConnectionClosed:
        pass
    finally:
        await ws.close ()


async def setup (tap):
    ctx = types.SimpleNamespace (seen=[], stop_fast=False)
    text = h.config (providers=[{"name": "SIM", "kind": "SIM", "seed": 5, "rate": RATE}],
                     gateway_extra={"max_connections_per_ip": 500, "max_rate": 1000})
    text += (token_block ("fast", FAST) + token_block ("drop", DROP, "drop_oldest")
             + token_block ("cut", CUT, "disconnect") + token_block ("pause", PAUSE, "conflate"))
    ctx.d = h.Daemon (text, name="slow")
    tap.daemons = [ctx.d]
    await asyncio.to_thread (ctx.d.start)
    await h.wait_serving (ctx.d)
    return ctx


async def stats (ctx):
    return (await h.aget_json (ctx.d.url ("/ws/stats"))) [2]


@tap.case ("90 clients that keep up and 10 that never read: at most 256 KiB of resident memory each for the 10, "
           "and the 90 get every NIFTY-I tick on time", timeout=90)
async def t_stalled (ctx):
    ctx.fast = [asyncio.ensure_future (fast_reader (ctx, i)) for i in range (FAST_CLIENTS)]
    deadline = time.monotonic () + 20
    while (await stats (ctx)) ["clients"] < FAST_CLIENTS:
        check (time.monotonic () < deadline, "the fast clients did not all connect")
        await asyncio.sleep (0.2)
    await asyncio.sleep (3)                 #  Warm: the allocator's arenas settle
    base = rss_kib (ctx.d.proc.pid)
    dropped0 = (await stats (ctx)) ["dropped_frames"]
    stalled = []
    for i in range (STALLED):
        r = await asyncio.to_thread (Raw, ctx.d.port, DROP)
        r.send ({"type": "SUBSCRIBE", "symbols": SYMBOLS})
        stalled.append (r)
    #  Their queues fill once the kernel's buffers have; then every tick for them is a drop
    deadline = time.monotonic () + 20
    while (await stats (ctx)) ["dropped_frames"] - dropped0 < STALLED * RATE:
        check (time.monotonic () < deadline, "the stalled clients' queues never filled")
        await asyncio.sleep (0.2)
    window_start = time.monotonic ()
    peak = base
    while time.monotonic () < window_start + 5:
        peak = max (peak, rss_kib (ctx.d.proc.pid))
        await asyncio.sleep (0.2)
    window_end = time.monotonic ()
    per_client = (peak - base) / STALLED
    h.diag ("resident memory %d KiB with %d keeping up, %d KiB at most with %d stalled too: "
            "%.1f KiB per stalled client" % (base, FAST_CLIENTS, peak, STALLED, per_client))
    #  AddressSanitizer keeps freed memory in quarantine (hundreds of MB): resident memory
    #  means nothing under it, so the bound is checked on the plain build only
    with open ("/proc/%d/maps" % ctx.d.proc.pid) as f:
        sanitized = "libasan" in f.read ()
    if sanitized:
        h.diag ("under AddressSanitizer: the memory bound is not checked")
    else:
        check (per_client <= 256, "%.1f KiB per stalled client" % per_client)
    #  Every tick of the window reached every fast client, and none much later than the first
    await asyncio.sleep (1)
    seqs = sorted (s for s, t in ctx.seen [0].items () if window_start <= t <= window_end)
    check (len (seqs) > 100, "only %d NIFTY-I ticks in the window" % len (seqs))
    worst = 0.0
    for seen in ctx.seen:
        missing = [s for s in range (seqs [0], seqs [-1] + 1) if s not in seen]
        check (not missing, "a fast client missed %d ticks (first %s)" % (len (missing), missing [:3]))
    for s in range (seqs [0], seqs [-1] + 1):
        times = [seen [s] for seen in ctx.seen]
        worst = max (worst, max (times) - min (times))
    h.diag ("%d NIFTY-I ticks in the window, each to all %d fast clients within %.0f ms of the first"
            % (len (seqs), FAST_CLIENTS, worst * 1000))
    #  The spread is mostly this one Python process reading 90 sockets; a sanitized daemon on
    #  the same 2 cores is several times slower, so it gets more room
    bound = 2.0 if sanitized else 0.5
    check (worst < bound, "a fast client got a tick %.0f ms after another" % (worst * 1000))
    for r in stalled:
        r.close ()
    ctx.stop_fast = True
    for t in ctx.fast:
        t.cancel ()
    await asyncio.gather (*ctx.fast, return_exceptions=True)


@tap.case ("conflate: a client that pauses 3 s then reads is current at once: the newest ticks, not a 3 s backlog", timeout=40)
async def t_conflate (ctx):
    before = (await stats (ctx)) ["conflated_frames"]
    live = {}
    probe = await websockets.connect (ctx.d.ws_uri + "?token=" + FAST, max_queue=None)
    await probe.send (json.dumps ({"type": "SUBSCRIBE", "symbol": "NIFTY-I"}))

    async def watch ():
        async for raw in probe:
            m = json.loads (raw)
            if m.get ("type") == "MARKET_DATA":
                live [m ["seq"]] = time.monotonic ()
    watcher = asyncio.ensure_future (watch ())
    r = await asyncio.to_thread (Raw, ctx.d.port, PAUSE)
    r.send ({"type": "SUBSCRIBE", "symbols": SYMBOLS})
    await asyncio.sleep (3)
    resumed = time.monotonic ()
    frames, eof = await asyncio.to_thread (r.read_frames, 1.0)
    r.close ()
    watcher.cancel ()
    await probe.close ()
    check (not eof, "the paused client was closed")
    ticks = [json.loads (p) for op, p in frames if op == 1]
    nifty = [m ["seq"] for m in ticks if m.get ("type") == "MARKET_DATA" and m ["symbol"] == "NIFTY-I"]
    after = (await stats (ctx)) ["conflated_frames"]
    check (after - before > RATE, "only %d ticks conflated in 3 s" % (after - before))
    check (nifty, "no NIFTY-I after the pause")
    #  A 3 s backlog would still be draining; conflated, the client is live within the second
    current = max (s for s, t in live.items () if t <= resumed + 0.5)
    check (nifty [-1] >= current, "after 1 s of reading the paused client is at NIFTY-I seq %d, "
           "live was at %d half a second after it resumed" % (nifty [-1], current))
    jumps = max (b - a for a, b in zip (nifty, nifty [1:])) if len (nifty) > 1 else 0
    h.diag ("%d ticks conflated while paused; NIFTY-I read after it: %d ticks, largest seq jump %d"
            % (after - before, len (nifty), jumps))


@tap.case ("disconnect: a client that stops reading is closed (4008 when the close can still be written), counted", timeout=40)
async def t_disconnect (ctx):
    before = (await stats (ctx)) ["slow_disconnects"]
    r = await asyncio.to_thread (Raw, ctx.d.port, CUT)
    r.send ({"type": "SUBSCRIBE", "symbols": SYMBOLS})
    await h.wait_http (ctx.d.url ("/ws/stats"), lambda _, s: s ["slow_disconnects"] > before,
                       timeout=15, what="the slow consumer closed")
    frames, eof = await asyncio.to_thread (r.read_frames, 5)
    r.close ()
    check (eof, "the socket of a cut client stays open")
    closes = [p for op, p in frames if op == 8]
    if closes:
        code = struct.unpack ("!H", closes [0][:2]) [0]
        check (code == 4008, "close code %d" % code)
        h.diag ("close frame %d %r" % (code, closes [0][2:]))
    else:
        h.diag ("no close frame got through the full socket; the connection was dropped")
    check (any ("slow consumer closed" in line and "token=cut" in line for line in ctx.d.log ()),
           "no log line for the cut client")
    metrics = (await asyncio.to_thread (h.http_get, ctx.d.url ("/metrics"))) [2]
    check ("tickmux_slow_disconnects_total %d" % (before + 1) in metrics, "metrics: slow disconnects")


tap.run (setup)
