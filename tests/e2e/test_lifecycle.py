#  test_lifecycle - start, stop, command line, config errors, determinism (README 2, 5, 6)

import asyncio
import os
import re
import socket
import sys
import time
import types

sys.dont_write_bytecode = True         #  No __pycache__ in the source tree (distcheck)
sys.path.insert (0, os.path.dirname (os.path.abspath (__file__)))
import tmharness as h
from tmharness import check, is_tick, subscribe

tap = h.Tap ()


def sim (seed, rate=1000):
    return [{"name": "SIM", "kind": "SIM", "seed": seed, "rate": rate}]


async def setup (tap):
    return types.SimpleNamespace ()


async def start (*daemons):
    await asyncio.gather (*(asyncio.to_thread (d.start) for d in daemons))
    await asyncio.gather (*(h.wait_serving (d) for d in daemons))


async def stop (*daemons):
    await asyncio.gather (*(asyncio.to_thread (d.stop) for d in daemons))


@tap.case ("SIGTERM with clients connected: exit 0 within 10 s, the clients are closed")
async def t_sigterm (ctx):
    d = h.Daemon (h.config (), name="sigterm")
    tap.daemons = [d]
    try:
        await start (d)
        clients = [await h.client (d, "c%d" % i) for i in range (3)]
        for c in clients:
            await subscribe (c, "NIFTY-I", "ALL")
            await c.expect (is_tick ("NIFTY-I"), 5, "a tick")
        rc = await asyncio.to_thread (d.stop, 10.0)
        took = d.stop_seconds
        check (took is not None, "still running 10 s after SIGTERM (killed)")
        check (rc == 0, "exit code %s after %.2f s" % (rc, took))
        if took > 5:
            h.diag ("note: exit took %.2f s (README: promptly)" % took)
        for c in clients:
            await c.wait_closed (3)
    finally:
        d.kill ()


async def src_prices (d, name, count=100):
    """last_price by data.src_seq of NIFTY-I on the SIM stream, for count ticks."""
    c = await h.client (d, name)
    await subscribe (c, "NIFTY-I", "SIM")
    ticks = await c.collect (is_tick ("NIFTY-I", "SIM"), count, 12, "NIFTY-I ticks on SIM")
    await c.close ()
    return {m ["data"] ["src_seq"]: m ["data"] ["last_price"] for m in ticks}


@tap.case ("determinism: the same seed gives the same NIFTY-I price per src_seq; another seed differs", timeout=25)
async def t_determinism (ctx):
    a = h.Daemon (h.config (providers=sim (7)), name="seed7a")
    b = h.Daemon (h.config (providers=sim (7)), name="seed7b")
    c = h.Daemon (h.config (providers=sim (8)), name="seed8")
    tap.daemons = [a, b, c]
    try:
        await start (a, b, c)
        pa, pb, pc = await asyncio.gather (src_prices (a, "a"), src_prices (b, "b"),
                                           src_prices (c, "c"))
        common = sorted (set (pa) & set (pb))
        check (len (common) >= 20, "only %d src_seq in common (a %d..%d, b %d..%d)"
               % (len (common), min (pa), max (pa), min (pb), max (pb)))
        diff = [(s, pa [s], pb [s]) for s in common if pa [s] != pb [s]]
        check (not diff, "seed 7 twice, %d of %d prices differ, first (src_seq, a, b) %s"
               % (len (diff), len (common), diff [:3]))
        other = sorted (set (pa) & set (pc))
        check (len (other) >= 20, "only %d src_seq in common between seeds 7 and 8" % len (other))
        same = [s for s in other if pa [s] == pc [s]]
        check (len (same) < len (other) / 2,
               "seeds 7 and 8 agree on %d of %d prices" % (len (same), len (other)))
    finally:
        await stop (a, b, c)


@tap.case ("tickmux --version prints the version of configure.ac and exits 0")
def t_version (ctx):
    rc, out, err = h.run_tickmux (["--version"])
    check (rc == 0, "exit %s, stderr %r" % (rc, err [-300:]))
    text = out + err
    version = None
    try:
        with open (os.path.join (h.SRCDIR, "configure.ac")) as f:
            m = re.search (r"AC_INIT\(\[tickmux\],\s*\[([^\]]+)\]", f.read ())
            version = m.group (1) if m else None
    except OSError:
        pass
    if version:
        check (version in out, "stdout %r lacks the version %s" % (out, version))
    else:
        check (re.search (r"\d+\.\d+", text), "no version in %r" % text)
    check ("listening" not in text, "--version started the gateway: %r" % text)


@tap.case ("tickmux --help exits 0 and mentions --config and --port")
def t_help (ctx):
    rc, out, err = h.run_tickmux (["--help"])
    check (rc == 0, "exit %s, stderr %r" % (rc, err [-300:]))
    check ("--config" in out and "--port" in out, "help text: %r" % (out or err) [:500])


@tap.case ("a route naming an unknown provider: exit non-zero, the message names the bad token")
def t_bad_route (ctx):
    text = h.config (routes=[("NIFTY-I", "SIM,TRUEDTA")])
    rc, out, err = h.run_tickmux (["--config", "@CONFIG@", "--port", "0"], config_text=text)
    check (rc is not None, "still running after 10 s (it should refuse the config)")
    check (rc != 0, "exit 0 with a bad route; stderr %r" % err [-300:])
    check ("TRUEDTA" in err, "stderr does not name 'TRUEDTA': %r" % err [-500:])
    check ("listening" not in err, "it started listening: %r" % err [-300:])


@tap.case ("a bad provider kind and a bad rate: exit non-zero naming the bad value")
def t_bad_values (ctx):
    for provider, token in (({"name": "X", "kind": "BLOOMBERG"}, "BLOOMBERG"),
                            ({"name": "SIM", "kind": "SIM", "rate": "fast"}, "fast")):
        text = h.config (providers=[provider])
        rc, out, err = h.run_tickmux (["--config", "@CONFIG@", "--port", "0"], config_text=text)
        check (rc is not None and rc != 0, "%s: exit %s; stderr %r" % (token, rc, err [-300:]))
        check (token in err, "stderr does not name %r: %r" % (token, err [-500:]))


@tap.case ("--port beats the config's port (config port busy, --port free)")
async def t_port (ctx):
    busy = socket.socket ()
    busy.setsockopt (socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind (("127.0.0.1", 0))
    busy.listen (1)
    config_port = busy.getsockname () [1]
    try:
        want = h.free_port ()
        d = h.Daemon (h.config (port=config_port), name="port", port=str (want))
        tap.daemons = [d]
        try:
            await asyncio.to_thread (d.start)
            check (d.port == want, "listening on %d, --port %d, config %d" % (d.port, want, config_port))
            status, _, doc = await h.aget_json (d.url ("/ws/health"))
            check (status in (200, 503), "health on the --port: %d" % status)
        finally:
            await stop (d)
    finally:
        busy.close ()


@tap.case ("TICKMUX_FAKE_TIME sets the clock, and beats tickmux/fake_time")
async def t_env_clock (ctx):
    d = h.Daemon (h.config (fake_time="2025-06-02T10:00:00+05:30"), name="envclock",
                  env={"TICKMUX_FAKE_TIME": h.FAKE_TIME})
    tap.daemons = [d]
    try:
        await start (d)
        c = await h.client (d, "c")
        await subscribe (c, "NIFTY-I", "ALL")
        ticks = await c.collect (is_tick ("NIFTY-I"), 3, 5, "ticks")
        elapsed = time.monotonic () - d.started_at
        for m in ticks:
            delta = (m ["data"] ["exchange_ts"] - h.FAKE_TIME_NS) / 1e9
            check (-1 <= delta <= elapsed + 2, "exchange_ts is %.1f s from TICKMUX_FAKE_TIME" % delta)
    finally:
        await stop (d)


@tap.case ("TICKMUX_FAKE_TIME in seconds since the epoch works too")
async def t_env_clock_epoch (ctx):
    d = h.Daemon (h.config (fake_time=None), name="epochclock",
                  env={"TICKMUX_FAKE_TIME": str (h.FAKE_TIME_NS // 10 ** 9)})
    tap.daemons = [d]
    try:
        await start (d)
        c = await h.client (d, "c")
        await subscribe (c, "NIFTY-I", "ALL")
        m = await c.expect (is_tick ("NIFTY-I"), 5, "a tick")
        elapsed = time.monotonic () - d.started_at
        delta = (m ["data"] ["exchange_ts"] - h.FAKE_TIME_NS) / 1e9
        check (-1 <= delta <= elapsed + 2, "exchange_ts is %.1f s from the fake start" % delta)
    finally:
        await stop (d)


if __name__ == "__main__":
    tap.run (setup)
