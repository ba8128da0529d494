#  test_http - the HTTP endpoints of README 4 (/ws/health, /ws/stats), with curl and urllib

import asyncio
import time
import os
import sys
import types

sys.dont_write_bytecode = True         #  No __pycache__ in the source tree (distcheck)
sys.path.insert (0, os.path.dirname (os.path.abspath (__file__)))
import tmharness as h
from tmharness import check, subscribe

tap = h.Tap ()


async def setup (tap):
    ctx = types.SimpleNamespace ()
    ctx.d = h.Daemon (h.config (), name="tickmux")
    tap.daemons = [ctx.d]
    await asyncio.to_thread (ctx.d.start)
    await h.wait_serving (ctx.d)
    return ctx


def check_health_ok (status, ctype, doc, how):
    check (status == 200, "%s: status %d %s" % (how, status, h.short (doc)))
    check ("json" in ctype.lower (), "%s: Content-Type %r" % (how, ctype))
    check (isinstance (doc, dict) and doc.get ("status") == "ok", "%s: %s" % (how, h.short (doc)))
    providers = doc.get ("providers")
    check (isinstance (providers, list) and len (providers) == 1,
           "%s: providers %s (one configured)" % (how, h.short (providers)))
    p = providers [0]
    check (p.get ("name") == "SIM" and p.get ("kind") == "SIM" and p.get ("state") == "CONNECTED",
           "%s: provider %s" % (how, h.short (p)))
    check (isinstance (p.get ("reason"), str), "%s: reason %r" % (how, p.get ("reason")))
    age = p.get ("last_status_age_ms")
    check (isinstance (age, int) and not isinstance (age, bool) and 0 <= age < 3000,
           "%s: last_status_age_ms %r (heartbeat is once a second)" % (how, age))


@tap.case ("GET /ws/health (curl): 200 JSON, status ok, providers [SIM SIM CONNECTED]")
def t_health_curl (ctx):
    check_health_ok (*h.get_json (ctx.d.url ("/ws/health"), h.curl_get), "curl")


@tap.case ("GET /ws/health (urllib): the same")
def t_health_urllib (ctx):
    check_health_ok (*h.get_json (ctx.d.url ("/ws/health"), h.urllib_get), "urllib")


def stats (ctx, getter=h.http_get):
    status, ctype, doc = h.get_json (ctx.d.url ("/ws/stats"), getter)
    check (status == 200, "/ws/stats: %d %s" % (status, h.short (doc)))
    return doc


def is_count (v):
    return isinstance (v, int) and not isinstance (v, bool) and v >= 0


@tap.case ("GET /ws/stats (curl and urllib): clients, subscriptions, uptime_s, dropped_frames, bus_gaps, providers.SIM")
def t_stats_shape (ctx):
    for getter in (h.curl_get, h.urllib_get):
        doc = stats (ctx, getter)
        for key in ("clients", "subscriptions", "dropped_frames", "bus_gaps"):
            check (is_count (doc.get (key)), "%s: %r in %s" % (key, doc.get (key), h.short (doc)))
        check (isinstance (doc.get ("uptime_s"), (int, float)) and doc ["uptime_s"] >= 0,
               "uptime_s: %r" % doc.get ("uptime_s"))
        sim = (doc.get ("providers") or {}).get ("SIM")
        check (isinstance (sim, dict), "providers.SIM: %s" % h.short (doc))
        check (sim.get ("state") == "CONNECTED", "providers.SIM.state: %s" % h.short (sim))
        for key in ("messages_in", "messages_out", "errors"):
            check (is_count (sim.get (key)), "providers.SIM.%s: %r" % (key, sim.get (key)))


async def wait_stats (ctx, pred, what, timeout=4.0):
    status, doc = await h.wait_http (ctx.d.url ("/ws/stats"),
                                     lambda s, d: s == 200 and isinstance (d, dict) and pred (d),
                                     timeout, what)
    return doc


@tap.case ("/ws/stats: clients and subscriptions follow a ws client; SIM messages_in/out grow while it is subscribed")
async def t_stats_live (ctx):
    s0 = await asyncio.to_thread (stats, ctx)
    c0, sub0 = s0 ["clients"], s0 ["subscriptions"]
    c = await h.client (ctx.d, "c")
    await wait_stats (ctx, lambda d: d ["clients"] == c0 + 1, "clients %d" % (c0 + 1))
    await subscribe (c, "NIFTY-I", "ALL")
    await subscribe (c, "BANKNIFTY-I", "SIM")
    s1 = await wait_stats (ctx, lambda d: d ["subscriptions"] == sub0 + 2,
                           "subscriptions %d" % (sub0 + 2))
    await c.collect (lambda m: m ["type"] == "MARKET_DATA", 10, 5, "ticks")
    p1 = s1 ["providers"] ["SIM"]
    s2 = await wait_stats (ctx, lambda d: d ["providers"] ["SIM"] ["messages_in"] > p1 ["messages_in"]
                           and d ["providers"] ["SIM"] ["messages_out"] > p1 ["messages_out"],
                           "SIM messages_in and messages_out above %d / %d"
                           % (p1 ["messages_in"], p1 ["messages_out"]))
    p2 = s2 ["providers"] ["SIM"]
    check (p2 ["messages_out"] >= p1 ["messages_out"] + 1, "messages_out %d -> %d"
           % (p1 ["messages_out"], p2 ["messages_out"]))
    await c.close ()
    await wait_stats (ctx, lambda d: d ["clients"] == c0 and d ["subscriptions"] == sub0,
                      "clients %d and subscriptions %d after the client left" % (c0, sub0))


@tap.case ("GET /metrics: Prometheus text format with the gateway and provider figures")
def t_metrics (ctx):
    import re
    status, ctype, body = h.curl_get (ctx.d.url ("/metrics"))
    check (status == 200, "status %d" % status)
    check (ctype.startswith ("text/plain") and "version=0.0.4" in ctype, "content type %r" % ctype)
    text = body.decode () if isinstance (body, bytes) else body
    sample = re.compile (r'^([a-z_]+)(\{([a-z_]+="[^"]*",?)*\})? ([0-9]+(\.[0-9]+)?(e[-+][0-9]+)?)$')
    typed, values = set (), {}
    for line in text.splitlines ():
        if not line:
            continue
        if line.startswith ("# TYPE "):
            name, kind = line.split () [2:4]
            check (kind in ("gauge", "counter", "histogram"), "type line %r" % line)
            typed.add (name)
            if kind == "histogram":
                typed.update (name + suffix for suffix in ("_bucket", "_sum", "_count"))
            continue
        if line.startswith ("# HELP "):
            continue
        m = sample.match (line)
        check (m is not None, "not a Prometheus sample line: %r" % line)
        check (m.group (1) in typed, "sample %r before its # TYPE" % line)
        values [line.rsplit (" ", 1) [0]] = float (m.group (4))
    for name in ("tickmux_clients", "tickmux_subscriptions", "tickmux_dropped_frames_total",
                 "tickmux_bus_gaps_total", "tickmux_uptime_seconds"):
        check (name in values, "%s missing from %s" % (name, sorted (values)))
    up = [k for k in values if k.startswith ("tickmux_provider_up{provider=\"SIM\"")]
    check (len (up) == 1 and values [up [0]] == 1, "provider_up %s" % up)
    key = 'tickmux_provider_messages_in_total{provider="SIM"}'
    check (values.get (key, 0) > 0, "%s = %s" % (key, values.get (key)))
    #  The same figure as /ws/stats, read after it: counters only grow.
    _, _, doc = h.get_json (ctx.d.url ("/ws/stats"))
    check (doc ["providers"] ["SIM"] ["messages_in"] >= values [key], "stats behind metrics")


@tap.case ("GET /metrics passes promtool check metrics (Debian's prometheus)")
def t_promtool (ctx):
    import shutil
    import subprocess
    promtool = shutil.which ("promtool")
    check (promtool is not None, "promtool is not installed (scripts/debian-deps installs prometheus)")
    status, _, body = h.curl_get (ctx.d.url ("/metrics"))
    check (status == 200, "status %d" % status)
    run = subprocess.run ([promtool, "check", "metrics"], input=body if isinstance (body, bytes)
                          else body.encode (), capture_output=True, timeout=30)
    check (run.returncode == 0, "promtool: %s %s" % (run.stdout.decode (errors="replace"),
                                                     run.stderr.decode (errors="replace")))


@tap.case ("ANALYTICS against known truth: a SIM stamping its exchange time 250 ms early at 200 "
           "ticks/s reads 250 ms exchange_to_receive and 200 messages/s; /ws/stats and /metrics "
           "carry the same", timeout=40)
async def t_analytics_truth (ctx):
    d = h.Daemon (h.config (providers=[{"name": "SIM", "kind": "SIM", "seed": 7, "rate": 200,
                                        "exchange_delay": 250}]), name="analytics")
    tap.daemons.append (d)
    await asyncio.to_thread (d.start)
    try:
        await h.wait_serving (d)
        c = await h.client (d, "analytics")
        await subscribe (c, channel="ANALYTICS")
        await subscribe (c, "NIFTY-I")
        #  Once 10 whole seconds have passed, the 10 s window is full
        deadline = time.monotonic () + 25
        while True:
            m = await c.expect (lambda m: m.get ("type") == "ANALYTICS", 3, "ANALYTICS")
            lat = m ["latency"] ["SIM"]
            if lat ["exchange_to_receive"] ["10s"] ["count"] >= 1900 or time.monotonic () > deadline:
                break
        e2r = lat ["exchange_to_receive"]
        for window in ("1s", "10s"):
            q = e2r [window]
            check (abs (q ["p50_ms"] - 250) <= 250 / 16 and abs (q ["p99_ms"] - 250) <= 250 / 16 + 5,
                   "exchange_to_receive %s: %s, truth 250 ms" % (window, q))
            check (250 <= q ["max_ms"] < 300, "exchange_to_receive %s max %s" % (window, q ["max_ms"]))
        rate = m ["message_rate"] ["SIM"]
        check (abs (rate ["10s"] - 200) <= 20 and abs (rate ["1s"] - 200) <= 40,
               "message_rate %s, truth 200/s" % rate)
        check (m ["error_rate"] ["SIM"] ["10s"] == 0, "error_rate %s" % m ["error_rate"])
        r2p = lat ["receive_to_publish"] ["10s"]
        check (r2p ["count"] > 0 and r2p ["p50_ms"] < 50, "receive_to_publish %s" % r2p)
        check (lat ["publish_to_client"] ["10s"] ["count"] > 0, "publish_to_client %s" % lat ["publish_to_client"])
        _, _, doc = await h.aget_json (d.url ("/ws/stats"))
        same = doc ["analytics"] ["latency"] ["SIM"] ["exchange_to_receive"] ["10s"]
        check (abs (same ["p50_ms"] - 250) <= 250 / 16, "/ws/stats analytics %s" % same)
        _, _, body = await asyncio.to_thread (h.curl_get, d.url ("/metrics"))
        text = body.decode () if isinstance (body, bytes) else body
        def bucket (le):
            line = ('tickmux_latency_seconds_bucket{provider="SIM",stage="exchange_to_receive",'
                    'le="%s"}' % le)
            return next (float (l.rsplit (" ", 1) [1]) for l in text.splitlines () if l.startswith (line))
        #  Every sample is 250 ms exactly (the SIM stamps recv_ts when it makes the tick)
        check (bucket ("0.1") == 0 and bucket ("0.25") >= 1900 and bucket ("0.25") == bucket ("10"),
               "histogram: %d at or under 0.1 s, %d at or under 0.25 s, %d at or under 10 s"
               % (bucket ("0.1"), bucket ("0.25"), bucket ("10")))
        await c.close ()
    finally:
        rc = await asyncio.to_thread (d.stop)
        check (rc == 0, "daemon exited %s" % rc)


@tap.case ("ANALYTICS error rate against known truth: a SIM sending 10 % bad ticks reads 0.10, "
           "and the arbiter, with error_rate 0.2, keeps it", timeout=40)
async def t_error_truth (ctx):
    d = h.Daemon (h.config (providers=[{"name": "SIM", "kind": "SIM", "seed": 7, "rate": 200,
                                        "bad_share": 0.1}]).rstrip ("\n")
                  + "\narbiter\n    error_rate = 0.2\n", name="errors")
    tap.daemons.append (d)
    await asyncio.to_thread (d.start)
    try:
        await h.wait_serving (d)
        c = await h.client (d, "errors")
        await subscribe (c, channel="ANALYTICS")
        deadline = time.monotonic () + 25
        while True:
            m = await c.expect (lambda m: m.get ("type") == "ANALYTICS", 3, "ANALYTICS")
            if m ["message_rate"] ["SIM"] ["10s"] > 170 or time.monotonic () > deadline:
                break
        rates = m ["error_rate"] ["SIM"]
        check (abs (rates ["10s"] - 0.1) <= 0.01 and abs (rates ["1s"] - 0.1) <= 0.03,
               "error_rate %s, truth 0.1" % rates)
        #  The rejected ticks never reach clients; the good ones' rate is 90 % of 200
        check (abs (m ["message_rate"] ["SIM"] ["10s"] - 180) <= 20, "message_rate %s"
               % m ["message_rate"] ["SIM"])
        _, _, doc = await h.aget_json (d.url ("/ws/stats"))
        check (doc ["providers"] ["SIM"] ["errors"] > 0, "/ws/stats errors %s" % doc ["providers"])
        await c.close ()
    finally:
        rc = await asyncio.to_thread (d.stop)
        check (rc == 0, "daemon exited %s" % rc)


@tap.case ("unknown paths -> 404 (curl and urllib)")
def t_404 (ctx):
    for path in ("/nope", "/ws/nope", "/ws/healthz"):
        for getter in (h.curl_get, h.urllib_get):
            status, _, body = getter (ctx.d.url (path))
            check (status == 404, "GET %s (%s): %d %r" % (path, getter.__name__, status, body [:200]))


@tap.case ("GET /ws/health -> 503 status down while no provider is CONNECTED, 200 once one is")
async def t_503 (ctx):
    #  The simulator's connect_delay keeps it CONNECTING, as a real provider that cannot
    #  connect yet would be.
    d = h.Daemon (h.config (providers=[{"name": "SIM", "kind": "SIM", "rate": 50,
                                        "connect_delay": 2500}]), name="delayed")
    try:
        await asyncio.to_thread (d.start)
        status, ctype, doc = await h.aget_json (d.url ("/ws/health"))
        check (status == 503, "status %d %s" % (status, h.short (doc)))
        check (doc.get ("status") == "down", "body %s" % h.short (doc))
        names = [p.get ("name") for p in doc.get ("providers", [])]
        check (names == ["SIM"], "providers %s" % h.short (doc.get ("providers")))
        check (doc ["providers"] [0].get ("state") == "CONNECTING", "state %s" % h.short (doc))
        deadline = time.monotonic () + 10
        while True:
            status, ctype, doc = await h.aget_json (d.url ("/ws/health"))
            if status == 200 or time.monotonic () > deadline:
                break
            await asyncio.sleep (0.1)
        check (status == 200 and doc.get ("status") == "ok",
               "after connect_delay: %d %s" % (status, h.short (doc)))
    finally:
        rc = await asyncio.to_thread (d.stop)
        check (rc == 0, "delayed daemon exited %s\n%s" % (rc, d.log_tail (10)))


@tap.case ("GET /ws/health -> 200 when one of two providers is CONNECTED, naming both")
async def t_partial (ctx):
    d = h.Daemon (h.config (providers=[{"name": "SIM", "kind": "SIM", "rate": 50},
                                       {"name": "SIM2", "kind": "SIM", "rate": 50,
                                        "connect_delay": 60000}]), name="partial")
    try:
        await asyncio.to_thread (d.start)
        deadline = time.monotonic () + 10
        while True:
            status, ctype, doc = await h.aget_json (d.url ("/ws/health"))
            states = {p.get ("name"): p.get ("state") for p in doc.get ("providers", [])}
            if states.get ("SIM") == "CONNECTED" or time.monotonic () > deadline:
                break
            await asyncio.sleep (0.05)
        check (status == 200 and doc.get ("status") == "ok", "%d %s" % (status, h.short (doc)))
        check (states == {"SIM": "CONNECTED", "SIM2": "CONNECTING"}, "states %s" % states)
    finally:
        rc = await asyncio.to_thread (d.stop)
        check (rc == 0, "partial daemon exited %s\n%s" % (rc, d.log_tail (10)))


@tap.case ("the daemon exits 0 on SIGTERM within 5 s")
def t_stop (ctx):
    rc = ctx.d.stop ()
    check (rc == 0 and ctx.d.stop_seconds is not None and ctx.d.stop_seconds < 5,
           "exit %s after %s s" % (rc, ctx.d.stop_seconds))


if __name__ == "__main__":
    tap.run (setup)
