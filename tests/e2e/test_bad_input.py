#  test_bad_input - every client error of README 3, end to end
#
#  One daemon (SIM, max_subscriptions = 5). A watcher client subscribed to NIFTY-I stays
#  connected throughout and must keep receiving ticks after every bad input; the bad inputs
#  go on one shared connection, which must answer PING after each of them (the oversized
#  message, which closes its connection with 1009, uses its own).

import asyncio
import json
import os
import sys
import time
import types

import websockets

sys.dont_write_bytecode = True         #  No __pycache__ in the source tree (distcheck)
sys.path.insert (0, os.path.dirname (os.path.abspath (__file__)))
import tmharness as h
from tmharness import check, fail, is_tick, subscribe

tap = h.Tap ()
MAX_SUBS = 5


async def setup (tap):
    ctx = types.SimpleNamespace ()
    #  No rate limit to speak of: these cases flood on purpose (test_auth covers max_rate)
    ctx.d = h.Daemon (h.config (max_subscriptions=MAX_SUBS, gateway_extra={"max_rate": 1000000}),
                      name="tickmux")
    tap.daemons = [ctx.d]
    await asyncio.to_thread (ctx.d.start)
    await h.wait_serving (ctx.d)
    ctx.watcher = await h.client (ctx.d, "watcher", persistent=True)
    await subscribe (ctx.watcher, "NIFTY-I", "ALL")
    await ctx.watcher.expect (is_tick ("NIFTY-I"), 5, "a first NIFTY-I tick")
    ctx.bad = None
    return ctx


async def bad_conn (ctx):
    """The shared connection for bad input (reopened if a failed case broke it)."""
    if ctx.bad is None or ctx.bad.closed_at is not None:
        if ctx.bad is not None:
            h.diag ("note: the shared connection had closed (code %s); reopened"
                    % ctx.bad.ws.close_code)
        ctx.bad = await h.client (ctx.d, "bad", persistent=True)
    ctx.bad.drain ()
    return ctx.bad


async def watcher_alive (ctx):
    ctx.watcher.drain ()
    await ctx.watcher.expect (is_tick ("NIFTY-I"), 3, "a NIFTY-I tick on the watcher (after the bad input)")


async def send_bad (ctx, payload, code, request=None, id_=None, symbol=None):
    """Send payload; expect exactly one ERROR code, then PONG on the same connection and a
    tick on the watcher. request: the object that ERROR.request must equal ("absent": none)."""
    c = await bad_conn (ctx)
    await c.send (payload)
    reply = await c.reply (3)
    check (reply ["type"] == "ERROR" and reply.get ("code") == code,
           "%s answered %s, expected ERROR %s" % (h.short (payload, 120), h.short (reply), code))
    if request == "absent":
        check ("request" not in reply, "ERROR carries a request for a non-object: %s" % h.short (reply))
    elif request is not None:
        check (reply.get ("request") == request,
               "ERROR.request %s, expected %s" % (h.short (reply.get ("request")), h.short (request)))
    if id_ is not None:
        check (reply.get ("id") == id_, "id %r not echoed: %s" % (id_, h.short (reply)))
    if symbol is not None:
        check (reply.get ("symbol") == symbol, "ERROR.symbol: %s" % h.short (reply))
    extra = await c.ping (3)
    check (not extra, "answered more than once: %s" % h.short (extra))
    await watcher_alive (ctx)
    return reply


@tap.case ("malformed JSON -> ERROR BAD_JSON naming line and column; connection stays up")
async def t_bad_json (ctx):
    reply = await send_bad (ctx, '{"type":"PING",\n  "id": }', "BAD_JSON", request="absent")
    msg = reply ["message"].lower ()
    check ("line" in msg and "col" in msg, "message without line and column: %r" % reply ["message"])


@tap.case ("[1,2] and \"text\" -> ERROR NOT_AN_OBJECT")
async def t_not_object (ctx):
    await send_bad (ctx, "[1,2]", "NOT_AN_OBJECT", request="absent")
    await send_bad (ctx, '"SUBSCRIBE"', "NOT_AN_OBJECT", request="absent")


@tap.case ("{} and a non-string type -> ERROR MISSING_TYPE, request echoed")
async def t_missing_type (ctx):
    await send_bad (ctx, "{}", "MISSING_TYPE", request={})
    req = {"type": 5, "id": "m1"}
    await send_bad (ctx, req, "MISSING_TYPE", request=req, id_="m1")


@tap.case ("unknown type -> ERROR UNKNOWN_TYPE with request and id")
async def t_unknown_type (ctx):
    req = {"type": "FROBNICATE", "id": "x1"}
    await send_bad (ctx, req, "UNKNOWN_TYPE", request=req, id_="x1")


@tap.case ("unknown symbol -> ERROR UNKNOWN_SYMBOL with symbol, request, id (and no SUBSCRIBED)")
async def t_unknown_symbol (ctx):
    req = {"type": "SUBSCRIBE", "symbol": "NIFTY-X", "provider": "ALL", "id": 7}
    await send_bad (ctx, req, "UNKNOWN_SYMBOL", request=req, id_=7, symbol="NIFTY-X")
    #  A prefix of a real symbol is not that symbol
    req = {"type": "SUBSCRIBE", "symbol": "NIFTY", "provider": "SIM", "id": 8}
    await send_bad (ctx, req, "UNKNOWN_SYMBOL", request=req, id_=8, symbol="NIFTY")


@tap.case ("unknown provider -> ERROR UNKNOWN_PROVIDER")
async def t_unknown_provider (ctx):
    req = {"type": "SUBSCRIBE", "symbol": "NIFTY-I", "provider": "NOPE", "id": "p1"}
    await send_bad (ctx, req, "UNKNOWN_PROVIDER", request=req, id_="p1")


@tap.case ("wrong, missing or mixed fields -> ERROR BAD_FIELD")
async def t_bad_field (ctx):
    for req in ({"type": "SUBSCRIBE", "id": 1},
                {"type": "SUBSCRIBE", "symbol": "NIFTY-I", "channel": "STATUS", "id": 2},
                {"type": "SUBSCRIBE", "symbol": "NIFTY-I", "symbols": ["RELIANCE"], "id": 3},
                {"type": "SUBSCRIBE", "symbol": 5, "id": 4},
                {"type": "SUBSCRIBE", "symbols": "NIFTY-I", "id": 5},
                {"type": "SUBSCRIBE", "symbols": ["NIFTY-I", 5], "id": 6},
                {"type": "SUBSCRIBE", "symbol": "N" * 40, "id": 7},
                {"type": "SUBSCRIBE", "symbol": "NIFTY-I", "provider": 7, "id": 8},
                {"type": "UNSUBSCRIBE", "id": 9}):
        await send_bad (ctx, req, "BAD_FIELD", request=req, id_=req ["id"])


@tap.case ("unknown channel -> UNKNOWN_CHANNEL; PORTFOLIO, ACCOUNT -> CHANNEL_UNAVAILABLE")
async def t_channels (ctx):
    req = {"type": "SUBSCRIBE", "channel": "WEATHER", "id": "w"}
    await send_bad (ctx, req, "UNKNOWN_CHANNEL", request=req, id_="w")
    for channel in ("PORTFOLIO", "ACCOUNT"):
        req = {"type": "SUBSCRIBE", "channel": channel, "id": channel}
        await send_bad (ctx, req, "CHANNEL_UNAVAILABLE", request=req, id_=channel)


@tap.case ("UNSUBSCRIBE of something not subscribed -> ERROR NOT_SUBSCRIBED")
async def t_not_subscribed (ctx):
    req = {"type": "UNSUBSCRIBE", "symbol": "RELIANCE", "provider": "ALL", "id": "n1"}
    await send_bad (ctx, req, "NOT_SUBSCRIBED", request=req, id_="n1")


@tap.case ("symbols with one unknown -> one SUBSCRIBED with the good one, one ERROR UNKNOWN_SYMBOL")
async def t_partial (ctx):
    c = await bad_conn (ctx)
    req = {"type": "SUBSCRIBE", "symbols": ["BANKNIFTY-I", "NIFTY-X"], "provider": "ALL", "id": "mx"}
    await c.send (req)
    replies = [await c.reply (3), await c.reply (3)]
    subs = [r for r in replies if r ["type"] == "SUBSCRIBED"]
    errs = [r for r in replies if r ["type"] == "ERROR"]
    check (len (subs) == 1 and len (errs) == 1, "replies: %s" % h.short (replies))
    check (subs [0].get ("symbols") == ["BANKNIFTY-I"] and subs [0].get ("id") == "mx",
           "SUBSCRIBED: %s" % h.short (subs [0]))
    check (errs [0].get ("code") == "UNKNOWN_SYMBOL" and errs [0].get ("symbol") == "NIFTY-X"
           and errs [0].get ("id") == "mx", "ERROR: %s" % h.short (errs [0]))
    extra = await c.ping (3)
    check (not extra, "more replies: %s" % h.short (extra))
    await c.expect (is_tick ("BANKNIFTY-I"), 3, "a BANKNIFTY-I tick")
    reply = await c.request ({"type": "UNSUBSCRIBE", "symbol": "BANKNIFTY-I", "id": "mx2"}, 3)
    check (reply ["type"] == "UNSUBSCRIBED", "UNSUBSCRIBE answered %s" % h.short (reply))


@tap.case ("binary frame -> ERROR BINARY_NOT_SUPPORTED; connection stays up")
async def t_binary (ctx):
    await send_bad (ctx, b"\x82\x00\xffnot text", "BINARY_NOT_SUPPORTED", request="absent")


@tap.case ("a 60 KB request (under max_message, in many fragments of the socket) is answered")
async def t_big_ok (ctx):
    c = await h.client (ctx.d, "big-ok", compression=None)
    pid = "x" * 60000
    await c.send ({"type": "PING", "id": pid})
    try:
        reply = await c.reply (5)
    except h.Closed as e:
        fail ("a 60 KB message closed the connection: %s" % e)
    check (reply ["type"] in ("PONG", "ERROR"), "reply: %s" % h.short (reply))
    if reply ["type"] == "ERROR":
        check (reply ["code"] == "BAD_FIELD", "reply: %s" % h.short (reply))
        h.diag ("note: a 60000-byte id is answered BAD_FIELD")
    else:
        check (reply.get ("id") == pid, "PONG without the id")
    check (not await c.ping (3), "more replies")


@tap.case ("a 1 MiB text frame closes that connection with 1009; others carry on")
async def t_too_big (ctx):
    c = await h.client (ctx.d, "huge", compression=None)
    payload = json.dumps ({"type": "PING", "id": "huge", "pad": "0123456789abcdef" * 65536})
    check (len (payload) > 1024 * 1024, "payload size")
    try:
        await c.send (payload)
    except websockets.ConnectionClosed:
        pass                            #  The server may close before the frame is all sent
    code, reason = await c.wait_closed (5)
    check (code == 1009, "closed with %s %r, expected 1009" % (code, reason))
    await watcher_alive (ctx)
    fresh = await h.client (ctx.d, "after-huge")
    check (not await fresh.ping (3), "unexpected replies on a new connection")
    c2 = await bad_conn (ctx)
    check (not await c2.ping (3), "the shared connection answered more than PONG")


@tap.case ("10 000 SUBSCRIBE in one burst (max_subscriptions 5): each answered once, the 5 first accepted")
async def t_burst (ctx):
    c = await h.client (ctx.d, "burst")
    pairs = [(stream, symbol) for stream in ("ALL", "SIM") for symbol in h.SIM_SYMBOLS]
    n = 10000
    frames = [json.dumps ({"type": "SUBSCRIBE", "symbol": pairs [i % len (pairs)] [1],
                           "provider": pairs [i % len (pairs)] [0], "id": i}) for i in range (n)]
    accepted_pairs = pairs [:MAX_SUBS]
    t0 = time.monotonic ()
    for f in frames:
        await c.ws.send (f)
    replies = []
    deadline = t0 + 20
    while len (replies) < n:
        replies.append (await c.expect (lambda m: m ["type"] not in h.PUSH_TYPES,
                                        deadline - time.monotonic (),
                                        "reply %d of %d" % (len (replies) + 1, n)))
    h.diag ("%d replies in %.1f s" % (n, time.monotonic () - t0))
    ids = [r.get ("id") for r in replies]
    missing = sorted (set (range (n)) - set (ids))
    check (not missing, "no reply for ids %s" % missing [:10])
    check (len (set (ids)) == n, "some ids answered twice")
    if ids != list (range (n)):
        h.diag ("note: replies not in request order")
    held = set ()
    for r in replies:
        i = r ["id"]
        stream, symbol = pairs [i % len (pairs)]
        if (stream, symbol) in accepted_pairs:
            check (r ["type"] == "SUBSCRIBED" and r.get ("symbols") == [symbol]
                   and r.get ("provider") == stream,
                   "id %d (%s %s, one of the first %d): %s" % (i, stream, symbol, MAX_SUBS, h.short (r)))
            held.add ((stream, symbol))
        else:
            check (r ["type"] == "ERROR" and r.get ("code") == "SUBSCRIPTION_LIMIT",
                   "id %d (%s %s, past the limit): %s" % (i, stream, symbol, h.short (r)))
    check (held == set (accepted_pairs), "held %s" % sorted (held))
    extra = await c.ping (5)
    check (not extra, "replies after the burst: %s" % h.short (extra))
    status, _, doc = await h.aget_json (ctx.d.url ("/ws/health"))
    check (status == 200 and doc.get ("status") == "ok", "health after the burst: %d %s"
           % (status, h.short (doc)))
    await watcher_alive (ctx)


@tap.case ("the daemon survived: health 200, exits 0 on SIGTERM within 5 s")
async def t_stop (ctx):
    status, _, doc = await h.aget_json (ctx.d.url ("/ws/health"))
    check (status == 200, "health: %d %s" % (status, h.short (doc)))
    await ctx.watcher.close ()
    if ctx.bad:
        await ctx.bad.close ()
    rc = await asyncio.to_thread (ctx.d.stop)
    check (rc == 0 and ctx.d.stop_seconds is not None and ctx.d.stop_seconds < 5,
           "exit %s after %s s" % (rc, ctx.d.stop_seconds))


if __name__ == "__main__":
    tap.run (setup)
