#  test_subscribe - the subscription side of the client protocol, end to end (README 3)
#
#  Three daemons: "main" (one simulator SIM), "dual" (SIM and SIM2, route NIFTY-I = SIM2,SIM)
#  and "slow" (one symbol at 2 ticks/s, so that a snapshot is told apart from a live tick).

import asyncio
import os
import sys
import time
import types

sys.dont_write_bytecode = True         #  No __pycache__ in the source tree (distcheck)
sys.path.insert (0, os.path.dirname (os.path.abspath (__file__)))
import tmharness as h
from tmharness import check, fail, is_tick, subscribe

tap = h.Tap ()


async def setup (tap):
    ctx = types.SimpleNamespace ()
    ctx.main = h.Daemon (h.config (), name="main")
    ctx.dual = h.Daemon (h.config (
        providers=[{"name": "SIM", "kind": "SIM", "seed": 7, "rate": 500},
                   {"name": "SIM2", "kind": "SIM", "seed": 8, "rate": 500}],
        routes=[("NIFTY-I", "SIM2,SIM")]), name="dual")
    ctx.slow = h.Daemon (h.config (
        providers=[{"name": "SIM", "kind": "SIM", "seed": 7, "rate": 2, "symbols": 1}]),
        name="slow")
    tap.daemons = [ctx.main, ctx.dual, ctx.slow]
    await asyncio.gather (*(asyncio.to_thread (d.start) for d in tap.daemons))
    await asyncio.gather (*(h.wait_serving (d) for d in tap.daemons))
    return ctx


def check_full_tick (m, provider="SIM"):
    """The fields a simulated index future carries (README 3 and 5)."""
    d = m ["data"]
    what = "%s seq %s" % (m ["symbol"], m ["seq"])
    check (m ["provider"] == provider, "%s: provider %r, expected %r" % (what, m ["provider"], provider))
    for key in ("last_price", "last_quantity", "volume", "open", "high", "low", "close", "oi",
                "bid_price", "bid_quantity", "ask_price", "ask_quantity", "depth",
                "exchange_ts", "recv_ts", "norm_ts", "pub_ts", "token", "src_seq"):
        check (key in d, "%s: data has no %s: %s" % (what, key, h.short (d)))
    check (isinstance (d ["token"], str) and d ["token"], "%s: empty token" % what)
    check (d ["last_price"] > 0, "%s: last_price %r" % (what, d ["last_price"]))
    check (d ["low"] <= d ["last_price"] <= d ["high"],
           "%s: last_price %r outside low %r .. high %r" % (what, d ["last_price"], d ["low"], d ["high"]))
    check (d ["low"] <= d ["open"] <= d ["high"],
           "%s: open %r outside low %r .. high %r" % (what, d ["open"], d ["low"], d ["high"]))
    check (d ["volume"] > 0 and d ["oi"] > 0, "%s: volume %r oi %r" % (what, d ["volume"], d ["oi"]))
    check (0 < d ["bid_price"] < d ["ask_price"],
           "%s: bid %r not below ask %r" % (what, d ["bid_price"], d ["ask_price"]))
    bids, asks = d ["depth"] ["bids"], d ["depth"] ["asks"]
    check (len (bids) == 5 and len (asks) == 5,
           "%s: depth has %d bids and %d asks, the simulator's book has five levels"
           % (what, len (bids), len (asks)))
    check (bids [0] [0] == d ["bid_price"] and asks [0] [0] == d ["ask_price"],
           "%s: best depth levels %r / %r differ from bid %r / ask %r"
           % (what, bids [0], asks [0], d ["bid_price"], d ["ask_price"]))
    check (all (a [0] > b [0] for a, b in zip (bids, bids [1:])),
           "%s: bids not best first: %r" % (what, bids))
    check (all (a [0] < b [0] for a, b in zip (asks, asks [1:])),
           "%s: asks not best first: %r" % (what, asks))
    check (all (lv [1] > 0 for lv in bids + asks), "%s: a depth level with no quantity" % what)
    check (d ["exchange_ts"] > 0, "%s: exchange_ts %r" % (what, d ["exchange_ts"]))
    check (d ["recv_ts"] <= d ["norm_ts"] <= d ["pub_ts"],
           "%s: recv_ts %d norm_ts %d pub_ts %d out of order"
           % (what, d ["recv_ts"], d ["norm_ts"], d ["pub_ts"]))


def same_tick (a, b):
    """The fields in which two copies of one tick (on two streams) differ; pub_ts is each
    stream's own (README 3: when its stream was published), so it may."""
    keys = (set (a) | set (b)) - {"pub_ts"}
    return {k: (a.get (k), b.get (k)) for k in sorted (keys) if a.get (k) != b.get (k)}


@tap.case ("SUBSCRIBE NIFTY-I ALL: SUBSCRIBED, a snapshot at once, then gap-free live ticks from SIM")
async def t_subscribe (ctx):
    c = await h.client (ctx.main, "c1")
    await c.send ({"type": "SUBSCRIBE", "symbol": "NIFTY-I", "provider": "ALL", "id": 1})
    first = await c.recv (5)
    check (first == {"type": "SUBSCRIBED", "provider": "ALL", "symbols": ["NIFTY-I"], "id": 1},
           "first message: %s" % h.short (first))
    snap = await c.recv (1.0)
    check (is_tick ("NIFTY-I", "ALL") (snap),
           "the message after SUBSCRIBED is not a NIFTY-I MARKET_DATA: %s" % h.short (snap))
    live = []
    for _ in range (10):
        live.append (await c.expect (is_tick ("NIFTY-I", "ALL"), 5, "a NIFTY-I tick",
                                     skip=lambda m: False))
    for m in [snap] + live:
        check (m ["stream"] == "ALL" and m ["provider"] == "SIM" and m ["symbol"] == "NIFTY-I",
               "stream/provider/symbol: %s" % h.short (m))
    check (live [0] ["seq"] > snap ["seq"],
           "first live seq %d not after the snapshot's %d" % (live [0] ["seq"], snap ["seq"]))
    if live [0] ["seq"] != snap ["seq"] + 1:
        h.diag ("note: snapshot seq %d, first live seq %d" % (snap ["seq"], live [0] ["seq"]))
    h.check_contiguous (live, "NIFTY-I on ALL")


@tap.case ("MARKET_DATA carries price, volume, OHLC, oi, best bid/ask, 5-level depth, ordered timestamps")
async def t_fields (ctx):
    c = await h.client (ctx.main, "c2")
    await subscribe (c, "NIFTY-I", "ALL")
    ticks = await c.collect (is_tick ("NIFTY-I", "ALL"), 6, 5, "NIFTY-I ticks")
    for m in ticks:
        check_full_tick (m)
    ctx.fields_ticks = ticks


@tap.case ("exchange_ts comes from the injectable clock (a few seconds after fake_time)")
async def t_fake_clock (ctx):
    c = await h.client (ctx.main, "c3")
    await subscribe (c, "NIFTY-I", "ALL")
    ticks = await c.collect (is_tick ("NIFTY-I", "ALL"), 3, 5, "NIFTY-I ticks")
    elapsed = time.monotonic () - ctx.main.started_at
    for m in ticks:
        ts = m ["data"] ["exchange_ts"]
        delta = (ts - h.FAKE_TIME_NS) / 1e9
        check (-1.0 <= delta <= elapsed + 2.0,
               "exchange_ts %d is %.3f s from fake_time %s (daemon up %.1f s); real clock?"
               % (ts, delta, h.FAKE_TIME, elapsed))


@tap.case ("SUBSCRIBE symbols [3] provider SIM: one SUBSCRIBED listing them, ticks of each on stream SIM")
async def t_multi (ctx):
    c = await h.client (ctx.main, "c4")
    symbols = ["BANKNIFTY-I", "RELIANCE", "NIFTY BANK"]
    reply = await subscribe (c, symbols=symbols, provider="SIM")
    check (reply.get ("provider") == "SIM" and sorted (reply ["symbols"]) == sorted (symbols),
           "SUBSCRIBED: %s" % h.short (reply))
    if reply ["symbols"] != symbols:
        h.diag ("note: SUBSCRIBED lists %r, requested order %r" % (reply ["symbols"], symbols))
    seen = {s: [] for s in symbols}
    deadline = time.monotonic () + 8
    while any (len (v) < 3 for v in seen.values ()):
        m = await c.expect (lambda m: m ["type"] == "MARKET_DATA", deadline - time.monotonic (),
                            "ticks of %s" % [s for s, v in seen.items () if len (v) < 3],
                            skip=lambda m: False)
        check (m ["symbol"] in seen, "tick of a symbol not subscribed: %s" % h.short (m))
        check (m ["stream"] == "SIM" and m ["provider"] == "SIM", "stream/provider: %s" % h.short (m))
        seen [m ["symbol"]].append (m)
    for s, ticks in seen.items ():
        check (ticks [1] ["seq"] > ticks [0] ["seq"], "%s: seq went back after the first" % s)
        h.check_contiguous (ticks [1:], "%s on SIM" % s)
    extra = await c.ping ()
    check (not extra, "more replies than one SUBSCRIBED: %s" % h.short (extra))


@tap.case ("provider SIM stream: stream SIM, gap-free, and the same ticks as ALL (same src_seq, same price)")
async def t_provider_stream (ctx):
    c = await h.client (ctx.main, "c5")
    await subscribe (c, "NIFTY-I", "SIM")
    await subscribe (c, "NIFTY-I", "ALL")
    by_stream = {"SIM": [], "ALL": []}
    deadline = time.monotonic () + 8
    while min (len (v) for v in by_stream.values ()) < 8:
        m = await c.expect (is_tick ("NIFTY-I"), deadline - time.monotonic (), "NIFTY-I ticks",
                            skip=lambda m: False)
        check (m ["stream"] in by_stream, "stream %r: %s" % (m ["stream"], h.short (m)))
        check (m ["provider"] == "SIM", "provider: %s" % h.short (m))
        by_stream [m ["stream"]].append (m)
    h.check_contiguous (by_stream ["SIM"] [1:], "NIFTY-I on SIM")
    h.check_contiguous (by_stream ["ALL"] [1:], "NIFTY-I on ALL")
    sim = {m ["data"] ["src_seq"]: m ["data"] for m in by_stream ["SIM"]}
    both = [m ["data"] for m in by_stream ["ALL"] if m ["data"] ["src_seq"] in sim]
    check (len (both) >= 3, "only %d ticks seen on both streams" % len (both))
    for d in both:
        diff = same_tick (d, sim [d ["src_seq"]])
        check (not diff, "src_seq %d differs between ALL and SIM: %s" % (d ["src_seq"], diff))


@tap.case ("UNSUBSCRIBE: UNSUBSCRIBED, then no tick of that symbol for 1 s while another keeps ticking")
async def t_unsubscribe (ctx):
    c = await h.client (ctx.main, "c6")
    await subscribe (c, "NIFTY-I", "ALL")
    await subscribe (c, "BANKNIFTY-I", "ALL")
    await c.expect (is_tick ("NIFTY-I"), 5, "a NIFTY-I tick")
    await c.send ({"type": "UNSUBSCRIBE", "symbol": "NIFTY-I", "provider": "ALL", "id": "u1"})
    reply = await c.reply (5)
    check (reply == {"type": "UNSUBSCRIBED", "provider": "ALL", "symbols": ["NIFTY-I"], "id": "u1"},
           "reply: %s" % h.short (reply))
    window = await c.during (1.0)
    nifty = [m for m in window if is_tick ("NIFTY-I") (m)]
    bank = [m for m in window if is_tick ("BANKNIFTY-I") (m)]
    check (not nifty, "%d NIFTY-I ticks after UNSUBSCRIBED, first %s" % (len (nifty), h.short (nifty [:1])))
    check (bank, "no BANKNIFTY-I tick within 1 s: is the connection alive?")
    others = [m for m in window if m ["type"] != "MARKET_DATA"]
    check (not others, "unexpected messages: %s" % h.short (others))


@tap.case ("UNSUBSCRIBE symbols [...] and channel: UNSUBSCRIBED lists them; SUBSCRIBE again works")
async def t_unsubscribe_many (ctx):
    c = await h.client (ctx.main, "c6b")
    symbols = ["NIFTY-I", "RELIANCE"]
    await subscribe (c, symbols=symbols, provider="SIM")
    await subscribe (c, channel="STATUS")
    reply = await c.request ({"type": "UNSUBSCRIBE", "symbols": symbols, "provider": "SIM",
                              "id": "us"}, 5)
    check (reply ["type"] == "UNSUBSCRIBED" and reply.get ("provider") == "SIM"
           and sorted (reply.get ("symbols", [])) == sorted (symbols) and reply.get ("id") == "us",
           "reply: %s" % h.short (reply))
    reply = await c.request ({"type": "UNSUBSCRIBE", "channel": "STATUS", "id": "uc"}, 5)
    check (reply == {"type": "UNSUBSCRIBED", "channel": "STATUS", "id": "uc"},
           "reply: %s" % h.short (reply))
    window = await c.during (0.5)
    late = [m for m in window if m ["type"] == "MARKET_DATA"]
    check (not late, "%d ticks after UNSUBSCRIBED, first %s" % (len (late), h.short (late [:1])))
    await subscribe (c, "NIFTY-I", "SIM")
    await c.expect (is_tick ("NIFTY-I", "SIM"), 5, "a NIFTY-I tick after subscribing again")


@tap.case ("PING -> PONG with the id echoed (string, number, none)")
async def t_ping (ctx):
    c = await h.client (ctx.main, "c7")
    for pid in ("p-1", 42, None):
        req = {"type": "PING"} if pid is None else {"type": "PING", "id": pid}
        reply = await c.request (req, 3)
        check (reply ["type"] == "PONG", "PING answered %s" % h.short (reply))
        check (reply.get ("id") == pid and ("id" in reply) == (pid is not None),
               "id %r echoed as %s" % (pid, h.short (reply)))
        check (isinstance (reply ["ts"], int) and reply ["ts"] > 0, "PONG ts: %s" % h.short (reply))


@tap.case ("a symbol with a space: NIFTY 50 on ALL")
async def t_space (ctx):
    c = await h.client (ctx.main, "c8")
    reply = await subscribe (c, "NIFTY 50", "ALL")
    check (reply ["symbols"] == ["NIFTY 50"] and reply ["provider"] == "ALL",
           "SUBSCRIBED: %s" % h.short (reply))
    ticks = await c.collect (lambda m: m ["type"] == "MARKET_DATA", 4, 6, "NIFTY 50 ticks")
    for m in ticks:
        check (m ["symbol"] == "NIFTY 50" and m ["stream"] == "ALL" and m ["provider"] == "SIM",
               "tick: %s" % h.short (m))
        check (m ["data"] ["last_price"] > 0, "last_price: %s" % h.short (m))
    h.check_contiguous (ticks [1:], "NIFTY 50 on ALL")


@tap.case ("snapshot: a later subscriber gets the last known tick at once, then seq + 1 (2 ticks/s daemon)")
async def t_snapshot (ctx):
    a = await h.client (ctx.slow, "a")
    await subscribe (a, "NIFTY-I", "ALL")
    await a.expect (is_tick ("NIFTY-I"), 6, "a first NIFTY-I tick")
    b = await h.client (ctx.slow, "b")
    await b.send ({"type": "SUBSCRIBE", "symbol": "NIFTY-I", "id": "b1"})
    first = await b.recv (5)
    check (first.get ("type") == "SUBSCRIBED" and first.get ("provider") == "ALL",
           "reply (provider defaults to ALL): %s" % h.short (first))
    t_sub = b.history [-1].t
    snap = await b.recv (1.0)
    check (is_tick ("NIFTY-I", "ALL") (snap), "after SUBSCRIBED: %s" % h.short (snap))
    lag = b.history [-1].t - t_sub
    check (lag < 0.2, "the snapshot came %.3f s after SUBSCRIBED, not at once" % lag)
    nxt = await b.expect (is_tick ("NIFTY-I"), 4, "a live tick after the snapshot",
                          skip=lambda m: False)
    check (nxt ["seq"] == snap ["seq"] + 1,
           "snapshot seq %d, next live seq %d" % (snap ["seq"], nxt ["seq"]))
    a_ticks = {r.msg ["seq"]: r.msg for r in a.history
               if r.msg and r.msg.get ("type") == "MARKET_DATA"}
    check (snap ["seq"] in a_ticks,
           "the snapshot (seq %d) is not a tick the first client saw (%s)"
           % (snap ["seq"], sorted (a_ticks)))
    check (a_ticks [snap ["seq"]] == snap,
           "the snapshot differs from the live tick: %s vs %s"
           % (h.short (snap), h.short (a_ticks [snap ["seq"]])))


@tap.case ("subscribing twice: SUBSCRIBED again, each tick delivered once")
async def t_twice (ctx):
    c = await h.client (ctx.main, "c9")
    await subscribe (c, "NIFTY-I", "ALL")
    await subscribe (c, "NIFTY-I", "ALL")
    await c.expect (is_tick ("NIFTY-I"), 5, "a NIFTY-I tick")
    c.drain ()
    ticks = await c.collect (is_tick ("NIFTY-I"), 8, 5, "NIFTY-I ticks")
    h.check_contiguous (ticks, "NIFTY-I on ALL after a double SUBSCRIBE")


@tap.case ("SIM2: its own stream, and route NIFTY-I = SIM2,SIM puts SIM2 on ALL (same ticks)")
async def t_sim2 (ctx):
    c = await h.client (ctx.dual, "d1")
    reply = await subscribe (c, "NIFTY-I", "SIM2")
    check (reply ["provider"] == "SIM2" and reply ["symbols"] == ["NIFTY-I"],
           "SUBSCRIBED: %s" % h.short (reply))
    await subscribe (c, "NIFTY-I", "ALL")
    own, alls = [], []
    deadline = time.monotonic () + 8
    while len (own) < 6 or len ([m for m in alls if m ["provider"] == "SIM2"]) < 6:
        m = await c.expect (is_tick ("NIFTY-I"), deadline - time.monotonic (),
                            "NIFTY-I ticks on SIM2 and on ALL from SIM2", skip=lambda m: False)
        if m ["stream"] == "SIM2":
            check (m ["provider"] == "SIM2", "SIM2 stream tick from %r" % m ["provider"])
            own.append (m)
        else:
            check (m ["stream"] == "ALL", "stream %r" % m ["stream"])
            alls.append (m)
    first = next (i for i, m in enumerate (alls) if m ["provider"] == "SIM2")
    if first:
        h.diag ("note: %d ALL ticks from %r before SIM2's" % (first, alls [0] ["provider"]))
    later = [m ["provider"] for m in alls [first:]]
    check (all (p == "SIM2" for p in later), "ALL left SIM2: providers %r" % later)
    h.check_contiguous (own [1:], "NIFTY-I on SIM2")
    h.check_contiguous (alls [1:], "NIFTY-I on ALL")
    src = {m ["data"] ["src_seq"]: m ["data"] for m in own}
    common = [m ["data"] for m in alls [first:] if m ["data"] ["src_seq"] in src]
    check (len (common) >= 3, "only %d SIM2 ticks seen on both streams" % len (common))
    for d in common:
        diff = same_tick (d, src [d ["src_seq"]])
        check (not diff, "src_seq %d differs between ALL and SIM2: %s" % (d ["src_seq"], diff))


@tap.case ("default route (config order): BANKNIFTY-I on ALL comes from SIM when SIM2 is also up")
async def t_default_route (ctx):
    c = await h.client (ctx.dual, "d2")
    await subscribe (c, "BANKNIFTY-I", "ALL")
    ticks = await c.collect (is_tick ("BANKNIFTY-I", "ALL"), 5, 6, "BANKNIFTY-I ticks")
    check (all (m ["provider"] == "SIM" for m in ticks),
           "providers %r" % [m ["provider"] for m in ticks])


@tap.case ("two clients on the same symbol receive the same ticks")
async def t_two_clients (ctx):
    a = await h.client (ctx.main, "a")
    b = await h.client (ctx.main, "b")
    await asyncio.gather (subscribe (a, "NIFTY-I", "ALL"), subscribe (b, "NIFTY-I", "ALL"))
    ta, tb = await asyncio.gather (a.collect (is_tick ("NIFTY-I"), 10, 6, "ticks"),
                                   b.collect (is_tick ("NIFTY-I"), 10, 6, "ticks"))
    h.check_contiguous (ta [1:], "client a")
    h.check_contiguous (tb [1:], "client b")
    sa = {m ["seq"]: m for m in ta [1:]}
    common = [m for m in tb [1:] if m ["seq"] in sa]
    check (len (common) >= 5, "only %d ticks in common (a %r, b %r)"
           % (len (common), sorted (sa), [m ["seq"] for m in tb]))
    for m in common:
        check (m == sa [m ["seq"]], "seq %d differs: %s vs %s"
               % (m ["seq"], h.short (m), h.short (sa [m ["seq"]])))


@tap.case ("STATUS channel: SUBSCRIBED, then PROVIDER_STATUS CONNECTED for SIM and SIM2, no ticks")
async def t_status (ctx):
    c = await h.client (ctx.dual, "st")
    reply = await subscribe (c, channel="STATUS")
    check (reply.get ("channel") == "STATUS", "SUBSCRIBED: %s" % h.short (reply))
    want = {"SIM", "SIM2"}
    got = {}
    deadline = time.monotonic () + 3
    while set (got) != want:
        m = await c.expect (lambda m: m ["type"] == "PROVIDER_STATUS",
                            deadline - time.monotonic (),
                            "PROVIDER_STATUS CONNECTED of %s" % sorted (want - set (got)),
                            skip=lambda m: False)
        check (m ["provider"] in want, "unknown provider: %s" % h.short (m))
        check (m ["kind"] == "SIM", "kind: %s" % h.short (m))
        if m ["state"] == "CONNECTED":
            check (m ["reason"] == "", "CONNECTED with a reason: %s" % h.short (m))
            got [m ["provider"]] = m
    for m in got.values ():
        check (m ["ts"] > 0, "ts: %s" % h.short (m))


@tap.case ("every daemon exits 0 on SIGTERM within 5 s")
def t_stop (ctx):
    problems = []
    for d in (ctx.main, ctx.dual, ctx.slow):
        alive = d.running ()
        rc = d.stop ()
        if not alive:
            problems.append ("%s had already exited with %s" % (d.name, rc))
        elif rc != 0 or d.stop_seconds is None or d.stop_seconds > 5:
            problems.append ("%s: exit %s after %s s" % (d.name, rc, d.stop_seconds))
    if problems:
        fail ("; ".join (problems) + "\n" + "\n".join (d.log_tail (15) for d in (ctx.main, ctx.dual, ctx.slow)))


if __name__ == "__main__":
    tap.run (setup)
