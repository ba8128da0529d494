#  test_zerodha - the Kite connector against the wire-faithful Kite simulator (issue 3)
#
#  tickmux-sim kite speaks KiteTicker and Kite REST on loopback; the daemon's ZERODHA provider
#  points at it through ws_url / api_url, exactly as it would point at Zerodha. Every check
#  compares what a WebSocket client of the daemon got with what the simulator says it sent.

import asyncio
import json
import os
import sys
import time
import subprocess
import types
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert (0, os.path.dirname (os.path.abspath (__file__)))
import tmharness as h
from tmharness import check, is_tick, subscribe

tap = h.Tap ()
KEY, TOKEN = "tmkey", "tmaccess"


def sim_call (sim, path, method="POST"):
    req = urllib.request.Request (sim.url (path), method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen (req, timeout=5) as reply:
        body = reply.read ()
    return json.loads (body) if body.strip () else None


def daemon_config (sim, max_subscriptions=5000):
    return (h.config (providers=[], max_subscriptions=max_subscriptions).rstrip ("\n")
            + "\nprovider\n    name = ZERODHA\n    kind = ZERODHA\n"
            + "    ws_url = \"%s\"\n    api_url = \"%s\"\n" % (sim.ws, sim.url ("")))


def start_pair (name, token=TOKEN, sim_args=()):
    sim = h.Sim ("kite", args=["--seed", "5", "--rate", "4"] + list (sim_args), name=name + "-sim",
                 env={"TICKMUX_FAKE_TIME": h.FAKE_TIME})
    sim.start ()
    d = h.Daemon (daemon_config (sim), name=name,
                  env={"ZERODHA_API_KEY": KEY, "ZERODHA_ACCESS_TOKEN": token})
    d.start ()
    return sim, d


async def provider_state (c, state, timeout):
    return await c.expect (lambda m: m.get ("type") == "PROVIDER_STATUS"
                           and m.get ("provider") == "ZERODHA" and m.get ("state") == state,
                           timeout, "ZERODHA %s" % state)


async def setup (tap):
    sim, d = await asyncio.to_thread (start_pair, "kite")
    tap.daemons = [d, sim]
    await h.wait_serving (d, timeout=15)
    return types.SimpleNamespace (sim=sim, d=d)


@tap.case ("ZERODHA comes up CONNECTED on /ws/health against the simulator", timeout=20)
async def t_health (ctx):
    status, _, doc = await h.aget_json (ctx.d.url ("/ws/health"))
    check (status == 200, "health %d %s" % (status, h.short (doc)))
    states = {p ["name"]: p ["state"] for p in doc ["providers"]}
    check (states == {"ZERODHA": "CONNECTED"}, "states %s" % states)


@tap.case ("RELIANCE, NIFTY 50 and NIFTY-I on provider ZERODHA: prices in rupees as the sim sent them", timeout=25)
async def t_ticks (ctx):
    c = await h.client (ctx.d, "ticks")
    await subscribe (c, symbols=["RELIANCE", "NIFTY 50", "NIFTY-I"], provider="ZERODHA")
    seen = {}
    deadline = time.monotonic () + 15
    while len (seen) < 3 and time.monotonic () < deadline:
        m = await c.expect (is_tick (stream="ZERODHA"), 10, "a ZERODHA tick")
        seen.setdefault (m ["symbol"], m)
    check (set (seen) == {"RELIANCE", "NIFTY 50", "NIFTY-I"}, "ticks for %s" % sorted (seen))
    for symbol, m in seen.items ():
        check (m ["provider"] == "ZERODHA", "%s provider %s" % (symbol, m ["provider"]))
        d = m ["data"]
        token = int (d ["token"])
        #  The sim's record of what it last sent for that token; the connector must have the
        #  same price in rupees and the same depth (a tick later than ours may have gone out
        #  meanwhile: then take the next one and look again).
        for _ in range (40):
            last = await asyncio.to_thread (sim_call, ctx.sim, "/_sim/last?token=%d" % token, "GET")
            if abs (last ["price"] - d ["last_price"]) < 1e-9 and last.get ("volume", 0) == d.get ("volume", 0):
                break
            m = await c.expect (is_tick (symbol, "ZERODHA"), 5, "another %s tick" % symbol)
            d = m ["data"]
        check (abs (last ["price"] - d ["last_price"]) < 1e-9,
               "%s: client %s, sim %s" % (symbol, d ["last_price"], last ["price"]))
        if symbol == "RELIANCE":
            #  The first packet after subscribe is in the default mode quote (no depth); wait
            #  for the full ones and compare one the sim still has as its last.
            for _ in range (40):
                if "depth" in d:
                    last = await asyncio.to_thread (sim_call, ctx.sim, "/_sim/last?token=%d" % token, "GET")
                    if abs (last ["price"] - d ["last_price"]) < 1e-9 and last ["volume"] == d ["volume"]:
                        break
                m = await c.expect (is_tick (symbol, "ZERODHA"), 5, "a full RELIANCE tick")
                d = m ["data"]
            check ("depth" in d, "no RELIANCE tick with depth")
            sent = [[l ["price"], l ["quantity"], l ["orders"]] for l in last ["depth"] ["buy"]
                    if l ["quantity"]]
            got = [[p, q, o] for p, q, o in d ["depth"] ["bids"]]
            check (got == sent, "RELIANCE bids: client %s, sim %s" % (got, sent))
            asks = [[l ["price"], l ["quantity"], l ["orders"]] for l in last ["depth"] ["sell"]
                    if l ["quantity"]]
            check ([[p, q, o] for p, q, o in d ["depth"] ["asks"]] == asks,
                   "RELIANCE asks: client %s, sim %s" % (d ["depth"] ["asks"], asks))
            check (d ["volume"] == last ["volume"], "volume %s vs %s" % (d ["volume"], last ["volume"]))
        elif symbol == "NIFTY 50":
            check (d ["open"] == last ["ohlc"] ["open"] and d ["close"] == last ["ohlc"] ["close"],
                   "NIFTY 50 ohlc: client %s, sim %s" % (h.short (d), last ["ohlc"]))
    await c.close ()


@tap.case ("an order postback reaches an ORDERS subscriber as ORDER_UPDATE", timeout=15)
async def t_order (ctx):
    c = await h.client (ctx.d, "orders")
    await subscribe (c, channel="ORDERS")
    await asyncio.to_thread (sim_call, ctx.sim,
                             "/_sim/order?status=COMPLETE&tradingsymbol=RELIANCE&quantity=10")
    m = await c.expect_type ("ORDER_UPDATE", 5)
    check (m ["provider"] == "ZERODHA" and m ["data"] ["status"] == "COMPLETE",
           "update %s" % h.short (m))
    check (m ["data"].get ("tradingsymbol") == "RELIANCE", "order %s" % h.short (m ["data"]))
    await c.close ()


@tap.case ("silent, then back: STALE or DISCONNECTED, CONNECTED again, subscriptions restored", timeout=30)
async def t_silent (ctx):
    c = await h.client (ctx.d, "silent")
    await subscribe (c, channel="STATUS")
    await subscribe (c, "RELIANCE", "ZERODHA")
    await c.expect (is_tick ("RELIANCE", "ZERODHA"), 10, "a tick before")
    await asyncio.to_thread (sim_call, ctx.sim, "/_sim/fault?kind=silent")
    m = await c.expect (lambda m: m.get ("type") == "PROVIDER_STATUS" and m.get ("state") in
                        ("STALE", "DISCONNECTED"), 10, "STALE or DISCONNECTED")
    h.diag ("after silence: %s %s" % (m ["state"], m ["reason"]))
    await asyncio.to_thread (sim_call, ctx.sim, "/_sim/fault?kind=resume")
    await provider_state (c, "CONNECTED", 15)
    c.drain ()
    await c.expect (is_tick ("RELIANCE", "ZERODHA"), 10, "a tick after the reconnect")
    await c.close ()


@tap.case ("killed connections: DISCONNECTED, then CONNECTED with the ticks back", timeout=30)
async def t_close (ctx):
    c = await h.client (ctx.d, "close")
    await subscribe (c, channel="STATUS")
    await subscribe (c, "NIFTY 50", "ZERODHA")
    await c.expect (is_tick ("NIFTY 50", "ZERODHA"), 10, "a tick before")
    await asyncio.to_thread (sim_call, ctx.sim, "/_sim/fault?kind=close")
    await provider_state (c, "DISCONNECTED", 10)
    await provider_state (c, "CONNECTED", 15)
    c.drain ()
    await c.expect (is_tick ("NIFTY 50", "ZERODHA"), 10, "a tick after the reconnect")
    await c.close ()


@tap.case ("an order filled while the link was down arrives as ORDER_UPDATE after the reconnect", timeout=40)
async def t_reconcile (ctx):
    c = await h.client (ctx.d, "reconcile")
    await subscribe (c, channel="STATUS")
    await subscribe (c, channel="ORDERS")
    created = await asyncio.to_thread (sim_call, ctx.sim,
                                       "/_sim/order?status=OPEN&tradingsymbol=INFY&quantity=5")
    first = await c.expect_type ("ORDER_UPDATE", 5)
    order_id = first ["data"] ["order_id"]
    #  Refuse reconnects, drop the link, fill the order without a postback, then let it back.
    await asyncio.to_thread (sim_call, ctx.sim, "/_sim/fault?kind=refuse_429")
    await asyncio.to_thread (sim_call, ctx.sim, "/_sim/fault?kind=close")
    await provider_state (c, "DISCONNECTED", 10)
    await asyncio.to_thread (sim_call, ctx.sim,
                             "/_sim/order?order_id=%s&status=COMPLETE&push=0" % order_id)
    await asyncio.to_thread (sim_call, ctx.sim, "/_sim/fault?kind=resume")
    m = await c.expect (lambda m: m.get ("type") == "ORDER_UPDATE"
                        and m ["data"].get ("order_id") == order_id
                        and m ["data"].get ("status") == "COMPLETE", 25, "the fill after reconnect")
    check (m ["provider"] == "ZERODHA", "update %s" % h.short (m))
    h.diag ("created %s" % h.short (created))
    await c.close ()


@tap.case ("garbage, truncated and unknown packets are counted; the link and the ticks go on", timeout=30)
async def t_garbage (ctx):
    c = await h.client (ctx.d, "garbage")
    await subscribe (c, "RELIANCE", "ZERODHA")
    await c.expect (is_tick ("RELIANCE", "ZERODHA"), 10, "a tick before")
    _, _, before = await h.aget_json (ctx.d.url ("/ws/stats"))
    for kind in ("garbage", "truncated", "unknown_packet", "error_text", "message_text"):
        await asyncio.to_thread (sim_call, ctx.sim, "/_sim/fault?kind=" + kind)
    deadline = time.monotonic () + 5
    while True:
        _, _, after = await h.aget_json (ctx.d.url ("/ws/stats"))
        grown = after ["providers"] ["ZERODHA"] ["errors"] - before ["providers"] ["ZERODHA"] ["errors"]
        if grown >= 3 or time.monotonic () > deadline:
            break
        await asyncio.sleep (0.2)
    check (grown >= 3, "errors grew by %d" % grown)
    check (after ["providers"] ["ZERODHA"] ["state"] == "CONNECTED", "state %s" % after ["providers"])
    c.drain ()
    await c.expect (is_tick ("RELIANCE", "ZERODHA"), 10, "a tick after the bad frames")
    await c.close ()


@tap.case ("no config file: an api key and token in the environment run ZERODHA alone; TICKMUX_SIM=1 adds SIM", timeout=30)
async def t_no_config (ctx):
    env = {"ZERODHA_API_KEY": KEY, "ZERODHA_ACCESS_TOKEN": TOKEN, "ZERODHA_WS_URL": ctx.sim.ws,
           "ZERODHA_API_URL": ctx.sim.url (""), "TICKMUX_FAKE_TIME": h.FAKE_TIME}
    for extra, expected in (({}, ["ZERODHA"]), ({"TICKMUX_SIM": "1"}, ["ZERODHA", "SIM"])):
        d = h.Daemon (None, name="noconfig", env=dict (env, **extra))
        d.env ["STATE_DIRECTORY"] = os.path.join (ctx.d.tmp or "/tmp", "noconfig-state")
        try:
            await asyncio.to_thread (d.start)
            await h.wait_serving (d, timeout=15)
            _, _, doc = await h.aget_json (d.url ("/ws/health"))
            names = [p ["name"] for p in doc ["providers"]]
            check (names == expected, "%s: providers %s" % (extra, names))
        finally:
            tail = d.log_tail ()
            rc = await asyncio.to_thread (d.stop)
            check (rc == 0, "daemon exited %s; its log:\n%s" % (rc, d.log_tail () or tail))


@tap.case ("3 001 instruments are spread over two ticker connections", timeout=60)
async def t_spread (ctx):
    #  A quiet market of its own: 3 001 instruments at the shared sim's rate would be 12 000
    #  ticks a second for a client that validates every message against the schemas.
    sim, d = await asyncio.to_thread (start_pair, "spread", sim_args=["--rate", "0.02"])
    try:
        await h.wait_serving (d, timeout=15)
        status, _, doc = await h.aget_json (d.url ("/ws/symbols"))
        names = [s for s in doc ["providers"] ["ZERODHA"]
                 if s.startswith ("NFO:") or s.endswith (("CE", "PE"))]
        check (len (names) >= 3001, "only %d NFO symbols offered" % len (names))
        c = await h.client (d, "spread")
        for at in range (0, 3001, 1000):
            await subscribe (c, symbols=names [at:min (at + 1000, 3001)], provider="ZERODHA",
                             timeout=20)
        deadline = time.monotonic () + 20
        while True:
            state = await asyncio.to_thread (sim_call, sim, "/_sim/state", "GET")
            counts = sorted (conn ["tokens"] for conn in state ["connections"])
            if sum (counts) >= 3001 or time.monotonic () > deadline:
                break
            await asyncio.sleep (0.2)
        check (len (counts) == 2 and sum (counts) == 3001 and max (counts) <= 3000,
               "connections carry %s tokens" % counts)
        #  The last client leaving releases every upstream subscription
        await c.close ()
        deadline = time.monotonic () + 10
        while True:
            state = await asyncio.to_thread (sim_call, sim, "/_sim/state", "GET")
            counts = [conn ["tokens"] for conn in state ["connections"]]
            if sum (counts) == 0 or time.monotonic () > deadline:
                break
            await asyncio.sleep (0.2)
        check (sum (counts) == 0, "after the client left, the connections carry %s" % counts)
    finally:
        rc = await asyncio.to_thread (d.stop)
        await asyncio.to_thread (sim.stop)
        check (rc == 0, "daemon exited %s" % rc)


@tap.case ("GET_OPTION_CHAIN on ZERODHA: legs from the instruments dump, updates as the sim sent "
           "them, shared, released", timeout=90)
async def t_chain (ctx):
    status, _, doc = await h.aget_json (ctx.d.url ("/ws/symbols"))
    expiry = h.chain_expiry (doc ["providers"] ["ZERODHA"], "BANKNIFTY")

    async def upstream ():
        state = await asyncio.to_thread (sim_call, ctx.sim, "/_sim/state", "GET")
        return sum (conn ["tokens"] for conn in state ["connections"])

    async def sim_price (tick):
        last = await asyncio.to_thread (sim_call, ctx.sim, "/_sim/last?token=%s"
                                        % tick ["data"] ["token"], "GET")
        return last ["price"]

    await h.option_chain_round_trip (ctx.d, "ZERODHA", "BANKNIFTY", 100, expiry, upstream,
                                     sim_price)


@tap.case ("GET_OPTION_CHAIN of an expiry the dump does not list: every leg null, only the "
           "underlying upstream", timeout=30)
async def t_chain_unlisted (ctx):
    async def upstream ():
        state = await asyncio.to_thread (sim_call, ctx.sim, "/_sim/state", "GET")
        return sum (conn ["tokens"] for conn in state ["connections"])
    base = await upstream ()
    c = await h.client (ctx.d, "chain-unlisted")
    await c.send ({"type": "GET_OPTION_CHAIN", "id": "u", "symbol": "NIFTY", "expiry": "2031-01-02",
                   "strikes": 4, "provider": "ZERODHA"})
    snap = await c.expect (lambda m: m.get ("type") == "OPTION_CHAIN", 10, "OPTION_CHAIN")
    check (len (snap ["strikes"]) == 4 and all (r ["CE"] is None and r ["PE"] is None
                                                for r in snap ["strikes"]), h.short (snap))
    check (snap ["underlying"] ["symbol"] == "NIFTY 50", h.short (snap ["underlying"]))
    got = await h.upstream_settles (upstream, base + 1)
    check (got == base + 1, "upstream holds %d, want %d + 1 (the underlying)" % (got, base))
    await c.close ()
    got = await h.upstream_settles (upstream, base)
    check (got == base, "after the client left upstream holds %d, want %d" % (got, base))


@tap.case ("a wrong access token: AUTH_FAILED, and the refused upgrade is not retried in a loop", timeout=30)
async def t_bad_token (ctx):
    sim, d = await asyncio.to_thread (start_pair, "badtoken", token="wrong")
    try:
        deadline = time.monotonic () + 15
        states = {}
        while time.monotonic () < deadline:
            status, _, doc = await h.aget_json (d.url ("/ws/health"))
            states = {p ["name"]: (p ["state"], p ["reason"]) for p in doc ["providers"]}
            if states.get ("ZERODHA", ("",)) [0] == "AUTH_FAILED":
                break
            await asyncio.sleep (0.2)
        check (states.get ("ZERODHA", ("",)) [0] == "AUTH_FAILED", "states %s" % states)
        check (status == 503, "health %d with the only provider AUTH_FAILED" % status)
        before = (await asyncio.to_thread (sim_call, sim, "/_sim/state", "GET")) ["refused_403"]
        await asyncio.sleep (4)
        after = (await asyncio.to_thread (sim_call, sim, "/_sim/state", "GET")) ["refused_403"]
        check (after - before <= 1, "%d more refused upgrades in 4 s" % (after - before))
    finally:
        rc = await asyncio.to_thread (d.stop)
        await asyncio.to_thread (sim.stop)
        check (rc == 0, "daemon exited %s\n%s" % (rc, d.log_tail (10)))


@tap.case ("browser login: /login/zerodha redirects to Kite; the callback's request_token is exchanged", timeout=30)
async def t_login (ctx):
    sim = h.Sim ("kite", args=["--seed", "6"], name="login-sim", env={"TICKMUX_FAKE_TIME": h.FAKE_TIME})
    await asyncio.to_thread (sim.start)
    d = h.Daemon (daemon_config (sim), name="login",
                  env={"ZERODHA_API_KEY": KEY, "ZERODHA_API_SECRET": "tmsecret",
                       "ZERODHA_LOGIN_URL": sim.url ("/connect/login?v=3&api_key=")})
    try:
        await asyncio.to_thread (d.start)
        #  The connector's first status (it has no token: AUTH_FAILED) may come a moment
        #  after the gateway listens
        def zerodha (doc):
            return {p ["name"]: (p ["state"], p ["reason"]) for p in doc ["providers"]} ["ZERODHA"]
        status, doc = await h.wait_http (d.url ("/ws/health"),
                                         lambda _, doc: zerodha (doc) [0] != "CONNECTING",
                                         what="ZERODHA's first status")
        states = {"ZERODHA": zerodha (doc)}
        check (states ["ZERODHA"] [0] == "AUTH_FAILED" and "login" in states ["ZERODHA"] [1],
               "before login: %s" % states)
        #  The redirect names Kite's login with our api key
        class NoRedirect (urllib.request.HTTPRedirectHandler):
            def redirect_request (self, *args):
                return None
        opener = urllib.request.build_opener (NoRedirect)
        try:
            opener.open (d.url ("/login/zerodha"), timeout=5)
            check (False, "no redirect")
        except urllib.error.HTTPError as e:
            check (e.code == 302, "status %d" % e.code)
            check (e.headers ["Location"] == sim.url ("/connect/login?v=3&api_key=" + KEY),
                   "Location %s" % e.headers ["Location"])
        status, _, body = await asyncio.to_thread (h.http_get,
            d.url ("/login/zerodha/callback?action=login&status=success&request_token=tmrequest"))
        check (status == 200, "callback answered %d" % status)
        deadline = time.monotonic () + 15
        while time.monotonic () < deadline:
            status, _, doc = await h.aget_json (d.url ("/ws/health"))
            if doc ["providers"] [0] ["state"] == "CONNECTED":
                break
            await asyncio.sleep (0.2)
        check (doc ["providers"] [0] ["state"] == "CONNECTED", "after login: %s" % h.short (doc))
        path = os.path.join (d.tmp, "state", "zerodha-ZERODHA.token")
        check (os.path.exists (path) and (os.stat (path).st_mode & 0o777) == 0o600,
               "token file %s" % path)
        check (open (path).read ().strip () == TOKEN, "the token file holds the session's token")
        check (not any (TOKEN in line for line in d.log ()), "the access token was logged")
    finally:
        rc = await asyncio.to_thread (d.stop)
        await asyncio.to_thread (sim.stop)
        check (rc == 0, "daemon exited %s" % rc)


@tap.case ("terminal login: tickmux login zerodha exchanges the pasted redirect URL", timeout=20)
async def t_cli_login (ctx):
    state = os.path.join (ctx.d.tmp or "/tmp", "cli-state")
    os.makedirs (state, exist_ok=True)
    config = daemon_config (ctx.sim).replace (h.STATE_DIR, state)
    cfg = os.path.join (state, "cli.cfg")
    with open (cfg, "w") as f:
        f.write (config)
    env = {k: v for k, v in os.environ.items () if not k.startswith (("ZERODHA_", "TICKMUX_"))}
    env.update ({"ZERODHA_API_KEY": KEY, "ZERODHA_API_SECRET": "tmsecret"})
    proc = await asyncio.to_thread (subprocess.run, [h.BIN, "--config", cfg, "login", "zerodha"],
        input=b"http://127.0.0.1/cb?action=login&status=success&request_token=tmrequest\n",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=15, env=env)
    out = proc.stdout.decode () + proc.stderr.decode ()
    check (proc.returncode == 0, "exit %d: %s" % (proc.returncode, out))
    check ("api_key=" + KEY in out, "no login URL printed: %s" % out)
    path = os.path.join (state, "zerodha-ZERODHA.token")
    check (os.path.exists (path) and open (path).read ().strip () == TOKEN, "token file %s" % path)
    check (TOKEN not in out, "the access token was printed")
    #  A wrong secret: Kite's TokenException, exit 1, no file written
    os.unlink (path)
    env ["ZERODHA_API_SECRET"] = "wrong"
    proc = await asyncio.to_thread (subprocess.run, [h.BIN, "--config", cfg, "login", "zerodha"],
        input=b"tmrequest\n", stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=15, env=env)
    check (proc.returncode == 1 and not os.path.exists (path),
           "wrong secret: exit %d %s" % (proc.returncode, proc.stderr.decode ()))
    check ("checksum" in proc.stderr.decode (), "no reason: %s" % proc.stderr.decode ())


@tap.case ("429 on reconnect backs off instead of hammering", timeout=30)
async def t_429 (ctx):
    await asyncio.to_thread (sim_call, ctx.sim, "/_sim/fault?kind=refuse_429")
    await asyncio.to_thread (sim_call, ctx.sim, "/_sim/fault?kind=close")
    await asyncio.sleep (1.5)
    before = (await asyncio.to_thread (sim_call, ctx.sim, "/_sim/state", "GET")) ["refused_429"]
    await asyncio.sleep (4)
    after = (await asyncio.to_thread (sim_call, ctx.sim, "/_sim/state", "GET")) ["refused_429"]
    await asyncio.to_thread (sim_call, ctx.sim, "/_sim/fault?kind=resume")
    check (after - before <= 1, "%d more refused upgrades in 4 s" % (after - before))


@tap.case ("the simulator process killed, then back on its port: DISCONNECTED, CONNECTED, ticks restored", timeout=45)
async def t_killed (ctx):
    c = await h.client (ctx.d, "killed")
    await subscribe (c, channel="STATUS")
    await subscribe (c, symbols=["RELIANCE", "NIFTY-I"], provider="ZERODHA")
    await c.expect (is_tick ("NIFTY-I", "ZERODHA"), 10, "a tick before")
    port = ctx.sim.port
    ctx.sim.proc.kill ()                        #  SIGKILL: no close frame, no goodbye
    ctx.sim.proc.wait ()
    await provider_state (c, "DISCONNECTED", 10)
    sim = h.Sim ("kite", args=["--seed", "5", "--rate", "4"], name="kite-sim-2",
                 env={"TICKMUX_FAKE_TIME": h.FAKE_TIME})
    sim.args [sim.args.index ("--port") + 1] = str (port)
    await asyncio.to_thread (sim.start)
    ctx.sim._cleanup ()
    ctx.sim = sim
    tap.daemons.append (sim)
    await provider_state (c, "CONNECTED", 40)
    c.drain ()
    for symbol in ("RELIANCE", "NIFTY-I"):
        await c.expect (is_tick (symbol, "ZERODHA"), 10, "a %s tick from the new simulator" % symbol)
    state = await asyncio.to_thread (sim_call, sim, "/_sim/state", "GET")
    check (sum (conn ["tokens"] for conn in state ["connections"]) >= 2,
           "the new simulator carries %s" % state ["connections"])
    await c.close ()


@tap.case ("daemon and simulator exit 0 on SIGTERM")
def t_stop (ctx):
    rc = ctx.d.stop ()
    check (rc == 0, "daemon exit %s\n%s" % (rc, ctx.d.log_tail (15)))
    rc = ctx.sim.stop ()
    check (rc == 0, "sim exit %s\n%s" % (rc, ctx.sim.log_tail (15)))


if __name__ == "__main__":
    tap.run (setup)
