#  test_truedata - the TrueData connector against the wire-faithful TrueData simulator (issue 4)
#
#  tickmux-sim truedata speaks TrueData's JSON feed on loopback; the daemon's TRUEDATA provider
#  points at it through ws_url exactly as it would at push.truedata.in. Checks compare what a
#  WebSocket client of the daemon got with what the simulator says it sent.

import asyncio
import json
import os
import sys
import time
import types
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert (0, os.path.dirname (os.path.abspath (__file__)))
import tmharness as h
from tmharness import check, is_tick, short, subscribe

tap = h.Tap ()
USER, PASSWORD = "tmuser", "tmpass"


def sim_call (sim, path, method="POST"):
    req = urllib.request.Request (sim.url (path), method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen (req, timeout=5) as reply:
        body = reply.read ()
    return json.loads (body) if body.strip () else None


def daemon_config (sim, max_subscriptions=5000):
    #  GHOST: an option root whose underlying the sim does not list, so it never prices
    return (h.config (providers=[], max_subscriptions=max_subscriptions).rstrip ("\n")
            + "\nprovider\n    name = TRUEDATA\n    kind = TRUEDATA\n"
            + "    ws_url = \"%s\"\n" % sim.ws
            + "option\n    name = GHOST\n    underlying = \"GHOST INDEX\"\n    step = 10\n")


def start_sim (name, args=(), port=None, fake_time=h.FAKE_TIME):
    sim = h.Sim ("truedata", args=["--seed", "3", "--rate", "4", "--heartbeat-ms", "1000"] + list (args),
                 name=name, env={"TICKMUX_FAKE_TIME": fake_time})
    if port:
        sim.args [sim.args.index ("--port") + 1] = str (port)
    sim.start ()
    return sim


def start_pair (name, password=PASSWORD, sim_args=()):
    sim = start_sim (name + "-sim", sim_args)
    d = h.Daemon (daemon_config (sim), name=name,
                  env={"TRUEDATA_USERNAME": USER, "TRUEDATA_PASSWORD": password})
    d.start ()
    return sim, d


async def provider_state (c, state, timeout):
    return await c.expect (lambda m: m.get ("type") == "PROVIDER_STATUS"
                           and m.get ("provider") == "TRUEDATA" and m.get ("state") == state,
                           timeout, "TRUEDATA %s" % state)


async def setup (tap):
    sim, d = await asyncio.to_thread (start_pair, "truedata")
    tap.daemons = [d, sim]
    await h.wait_serving (d, timeout=15)
    return types.SimpleNamespace (sim=sim, d=d)


@tap.case ("TRUEDATA comes up CONNECTED on /ws/health after the welcome", timeout=20)
async def t_health (ctx):
    status, _, doc = await h.aget_json (ctx.d.url ("/ws/health"))
    states = {p ["name"]: p ["state"] for p in doc ["providers"]}
    check (status == 200 and states == {"TRUEDATA": "CONNECTED"}, "health %d %s" % (status, states))


@tap.case ("NIFTY-I, NIFTY 50, RELIANCE on provider TRUEDATA: values as the sim sent them", timeout=30)
async def t_ticks (ctx):
    c = await h.client (ctx.d, "ticks")
    await subscribe (c, symbols=["NIFTY-I", "NIFTY 50", "RELIANCE"], provider="TRUEDATA")
    seen = {}
    deadline = time.monotonic () + 15
    while len (seen) < 3 and time.monotonic () < deadline:
        m = await c.expect (is_tick (stream="TRUEDATA"), 10, "a TRUEDATA tick")
        seen.setdefault (m ["symbol"], m)
    check (set (seen) == {"NIFTY-I", "NIFTY 50", "RELIANCE"}, "ticks for %s" % sorted (seen))
    for symbol, m in seen.items ():
        d = m ["data"]
        for _ in range (40):
            last = await asyncio.to_thread (sim_call, ctx.sim,
                                            "/_sim/last?symbol=" + urllib.request.quote (symbol), "GET")
            if abs (last ["ltp"] - d ["last_price"]) < 1e-9 and last ["volume"] == d.get ("volume", 0):
                break
            m = await c.expect (is_tick (symbol, "TRUEDATA"), 5, "another %s tick" % symbol)
            d = m ["data"]
        check (abs (last ["ltp"] - d ["last_price"]) < 1e-9,
               "%s: client %s, sim %s" % (symbol, d ["last_price"], last ["ltp"]))
        check (last ["volume"] == d.get ("volume", 0), "%s volume: client %s, sim %s"
               % (symbol, d.get ("volume"), last ["volume"]))
        if symbol == "NIFTY-I":
            check (d.get ("oi") == last ["oi"], "NIFTY-I oi: client %s, sim %s" % (d.get ("oi"), last ["oi"]))
            check (d.get ("bid_price") == last ["bid"] and d.get ("ask_price") == last ["ask"],
                   "NIFTY-I book: client %s/%s, sim %s/%s" % (d.get ("bid_price"), d.get ("ask_price"),
                                                             last ["bid"], last ["ask"]))
    await c.close ()


@tap.case ("--log and --delay-ms: every MARKET_DATA is a logged line, stamped 2.5 s behind the sim", timeout=40)
async def t_log (ctx):
    delay = 2.5
    sim, d = await asyncio.to_thread (start_pair, "logged",
                                      sim_args=["--log", "sent.jsonl", "--delay-ms", "2500"])
    try:
        await h.wait_serving (d, timeout=15)
        #  The shared sim runs without either, and says so
        plain = await asyncio.to_thread (sim_call, ctx.sim, "/_sim/state", "GET")
        check (plain ["log"] is False and plain ["delay_ms"] == 0,
               "plain sim: log %s delay_ms %s" % (plain ["log"], plain ["delay_ms"]))
        c = await h.client (d, "logged")
        await subscribe (c, "NIFTY-I", "TRUEDATA")
        ticks = []
        while len (ticks) < 12:
            m = await c.expect (is_tick ("NIFTY-I", "TRUEDATA"), 10, "a NIFTY-I tick")
            #  The sim's fake clock started at FAKE_TIME when it was spawned, or a little later
            sim_now = h.FAKE_TIME_NS + time.time_ns () - sim.started_wall_ns
            ticks.append ((m ["data"], sim_now))
        await c.close ()
        state = await asyncio.to_thread (sim_call, sim, "/_sim/state", "GET")
        check (state ["log"] is True and state ["delay_ms"] == 2500,
               "logged sim: log %s delay_ms %s" % (state ["log"], state ["delay_ms"]))
        conns = {conn ["id"] for conn in state ["connections"]}
        #  Each line was written before its message was queued, so all of ours are there;
        #  a last line still being written has no newline yet
        with open (os.path.join (sim.tmp, "sent.jsonl")) as f:
            lines = [json.loads (line) for line in f.read ().split ("\n") [:-1]]
        keys = {"conn", "kind", "symbol", "exchange_ts", "ltp", "volume", "bid", "ask"}
        check (lines and all (set (line) == keys and line ["kind"] in ("trade", "bidask", "snapshot")
                              for line in lines), "log lines %s" % short (lines [:3]))
        for data, sim_now in ticks:
            found = [line for line in lines
                     if line ["symbol"] == "NIFTY-I" and line ["conn"] in conns
                     and line ["exchange_ts"] == data ["exchange_ts"] and line ["volume"] == data.get ("volume", 0)
                     and abs (line ["ltp"] - data ["last_price"]) < 1e-9]
            check (found, "no logged NIFTY-I line for exchange_ts %s ltp %s volume %s"
                   % (data ["exchange_ts"], data ["last_price"], data.get ("volume")))
            lag = (sim_now - data ["exchange_ts"]) / 1e9
            check (lag >= delay, "exchange_ts only %.3f s behind the sim's clock" % lag)
            #  A snapshot row carries the symbol's last update, which may be older
            if all (line ["kind"] != "snapshot" for line in found):
                check (lag < delay + 1 + 1.5, "exchange_ts %.3f s behind the sim's clock" % lag)
    finally:
        rc = await asyncio.to_thread (d.stop)
        await asyncio.to_thread (sim.stop)
        check (rc == 0, "daemon exited %s" % rc)


@tap.case ("an option's greeks reach the client as the sim sent them, with its trade", timeout=30)
async def t_greeks (ctx):
    listing = (await asyncio.to_thread (sim_call, ctx.sim, "/_sim/symbols", "GET")) ["symbols"]
    options = [s ["symbol"] for s in listing if s ["kind"] == "opt"]
    #  Options are listed chain by chain, expiry by expiry, strike by strike, CE before PE:
    #  the middle strike of the first block of 420 is NIFTY's nearest at-the-money call
    option = options [420]
    check (option.startswith ("NIFTY") and option.endswith ("CE"), "picked %s" % option)
    c = await h.client (ctx.d, "greeks")
    await subscribe (c, option, "TRUEDATA")
    names = ("iv", "delta", "gamma", "theta", "vega", "rho")
    matched = None
    for _ in range (40):
        m = await c.expect (lambda m: is_tick (option, "TRUEDATA") (m) and "greeks" in m ["data"],
                            10, "a %s tick with greeks" % option)
        last = await asyncio.to_thread (sim_call, ctx.sim,
                                        "/_sim/last?symbol=" + urllib.request.quote (option), "GET")
        got = m ["data"] ["greeks"]
        if "greeks" in last and all (got [k] == last ["greeks"] [k] for k in names):
            matched = (got, last)
            break
    check (matched is not None, "%s greeks never matched the sim's last ones" % option)
    got, last = matched
    check (0 < got ["delta"] < 1 and got ["gamma"] > 0 and got ["vega"] > 0 and got ["theta"] < 0,
           "a call's greeks have a call's signs: %s" % got)
    check (abs (m ["data"] ["last_price"] - last ["ltp"]) < 1e-9,
           "the greeks tick keeps the last trade: client %s, sim %s" % (m ["data"] ["last_price"], last ["ltp"]))
    await c.close ()


@tap.case ("GET_OPTION_CHAIN on TRUEDATA: snapshot around the money, updates as the sim sent them, "
           "shared, released", timeout=90)
async def t_chain (ctx):
    listing = (await asyncio.to_thread (sim_call, ctx.sim, "/_sim/symbols", "GET")) ["symbols"]
    expiry = h.chain_expiry ([s ["symbol"] for s in listing if s ["kind"] == "opt"], "NIFTY")

    async def upstream ():
        state = await asyncio.to_thread (sim_call, ctx.sim, "/_sim/state", "GET")
        return sum (conn ["symbols"] for conn in state ["connections"])

    async def sim_price (tick):
        last = await asyncio.to_thread (sim_call, ctx.sim, "/_sim/last?symbol="
                                        + urllib.request.quote (tick ["symbol"]), "GET")
        return last ["ltp"]

    await h.option_chain_round_trip (ctx.d, "TRUEDATA", "NIFTY", 50, expiry, upstream, sim_price)


@tap.case ("GET_OPTION_CHAIN for an underlying that never prices: OPTION_CHAIN_UNAVAILABLE "
           "after 10 s, and the chain is gone", timeout=40)
async def t_chain_unpriced (ctx):
    c = await h.client (ctx.d, "chain-unpriced")
    await c.send ({"type": "GET_OPTION_CHAIN", "id": 5, "symbol": "GHOST", "expiry": "2026-12-31",
                   "provider": "TRUEDATA"})
    m = await c.expect (lambda m: m.get ("type") == "ERROR", 15, "the ERROR")
    check (m ["code"] == "OPTION_CHAIN_UNAVAILABLE" and m ["id"] == 5
           and m ["symbol"] == "GHOST INDEX", short (m))
    #  The chain is gone: asking again starts a new wait, and UNSUBSCRIBE finds nothing held
    reply = await c.request ({"type": "UNSUBSCRIBE", "id": 6, "option_chain": "GHOST",
                              "expiry": "2026-12-31", "provider": "TRUEDATA"})
    check (reply ["code"] == "NOT_SUBSCRIBED", short (reply))
    await c.close ()


@tap.case ("4 000 symbols go upstream in addsymbol batches of at most 1 500", timeout=90)
async def t_batches (ctx):
    #  A quiet market of its own: 4 000 symbols at the shared sim's rate would be 16 000 ticks a
    #  second for a client that validates every message against the schemas.
    sim, d = await asyncio.to_thread (start_pair, "batches", sim_args=["--rate", "0.02"])
    try:
        await h.wait_serving (d, timeout=15)
        names = [s ["symbol"] for s in
                 (await asyncio.to_thread (sim_call, sim, "/_sim/symbols", "GET")) ["symbols"]]
        check (len (names) >= 4000, "the sim offers only %d symbols" % len (names))
        c = await h.client (d, "batches")
        await subscribe (c, channel="STATUS")
        #  500 a request keeps each client message under max_message (64 KiB)
        for at in range (0, 4000, 500):
            await subscribe (c, symbols=names [at:at + 500], provider="TRUEDATA", timeout=20)

        async def subscribed (want):
            deadline = time.monotonic () + 20
            while True:
                state = await asyncio.to_thread (sim_call, sim, "/_sim/state", "GET")
                total = sum (conn ["symbols"] for conn in state ["connections"])
                if total >= want or time.monotonic () > deadline:
                    return state, total
                await asyncio.sleep (0.2)
        state, total = await subscribed (4000)
        check (total >= 4000, "the sim has %d symbols subscribed" % total)
        #  After a reconnect the connector sends all 4 000 again: in batches of at most 1 500
        await asyncio.to_thread (sim_call, sim, "/_sim/fault?kind=close")
        await provider_state (c, "DISCONNECTED", 10)
        await provider_state (c, "CONNECTED", 20)
        state, total = await subscribed (4000)
        check (total >= 4000, "after the reconnect the sim has %d symbols subscribed" % total)
        check (1000 < state ["largest_request"] <= 1500, "the largest addsymbol carried %d symbols"
               % state ["largest_request"])
        await c.close ()
    finally:
        rc = await asyncio.to_thread (d.stop)
        await asyncio.to_thread (sim.stop)
        check (rc == 0, "daemon exited %s" % rc)


@tap.case ("bad frames (garbage, binary, unknown kind, 17-element rows, touchline) are counted; ticks go on", timeout=30)
async def t_faults (ctx):
    c = await h.client (ctx.d, "faults")
    await subscribe (c, "RELIANCE", "TRUEDATA")
    await c.expect (is_tick ("RELIANCE", "TRUEDATA"), 10, "a tick before")
    _, _, before = await h.aget_json (ctx.d.url ("/ws/stats"))
    for kind in ("garbage", "binary", "unknown", "row17", "touchline"):
        await asyncio.to_thread (sim_call, ctx.sim, "/_sim/fault?kind=" + kind)
    deadline = time.monotonic () + 5
    while True:
        _, _, after = await h.aget_json (ctx.d.url ("/ws/stats"))
        grown = after ["providers"] ["TRUEDATA"] ["errors"] - before ["providers"] ["TRUEDATA"] ["errors"]
        if grown >= 2 or time.monotonic () > deadline:
            break
        await asyncio.sleep (0.2)
    check (grown >= 2, "errors grew by %d" % grown)
    check (after ["providers"] ["TRUEDATA"] ["state"] == "CONNECTED", "state %s" % after ["providers"])
    c.drain ()
    await c.expect (is_tick ("RELIANCE", "TRUEDATA"), 10, "a tick after the bad frames")
    await c.close ()


@tap.case ("silent, then back: STALE, CONNECTED again, subscriptions restored", timeout=40)
async def t_silent (ctx):
    c = await h.client (ctx.d, "silent")
    await subscribe (c, channel="STATUS")
    await subscribe (c, "NIFTY-I", "TRUEDATA")
    await c.expect (is_tick ("NIFTY-I", "TRUEDATA"), 10, "a tick before")
    await asyncio.to_thread (sim_call, ctx.sim, "/_sim/fault?kind=silent")
    await provider_state (c, "STALE", 20)
    await asyncio.to_thread (sim_call, ctx.sim, "/_sim/fault?kind=resume")
    await provider_state (c, "CONNECTED", 20)
    c.drain ()
    await c.expect (is_tick ("NIFTY-I", "TRUEDATA"), 10, "a tick after the reconnect")
    await c.close ()


@tap.case ("the simulator killed, then back on its port: DISCONNECTED, CONNECTED, ticks restored", timeout=45)
async def t_killed (ctx):
    c = await h.client (ctx.d, "killed")
    await subscribe (c, channel="STATUS")
    await subscribe (c, symbols=["RELIANCE", "NIFTY 50"], provider="TRUEDATA")
    await c.expect (is_tick ("NIFTY 50", "TRUEDATA"), 10, "a tick before")
    port = ctx.sim.port
    ctx.sim.proc.kill ()
    ctx.sim.proc.wait ()
    await provider_state (c, "DISCONNECTED", 10)
    sim = await asyncio.to_thread (start_sim, "truedata-sim-2", (), port)
    ctx.sim._cleanup ()
    ctx.sim = sim
    tap.daemons.append (sim)
    await provider_state (c, "CONNECTED", 40)
    c.drain ()
    for symbol in ("RELIANCE", "NIFTY 50"):
        await c.expect (is_tick (symbol, "TRUEDATA"), 10, "a %s tick from the new simulator" % symbol)
    await c.close ()


async def wait_providers (d, names, state, timeout, up=True):
    """Poll /ws/health until each of names is in state (up), or has left it (not up)."""
    deadline = time.monotonic () + timeout
    while True:
        _, _, doc = await h.aget_json (d.url ("/ws/health"))
        states = {p ["name"]: p ["state"] for p in doc ["providers"]}
        if all ((states.get (name) == state) == up for name in names):
            return
        check (time.monotonic () < deadline, "providers %s, waiting for %s %s" % (states, names, state))
        await asyncio.sleep (0.2)


@tap.case ("two sims with one seed are one market: TDA and TDB send the same events, and one silenced "
           "or restarted is not behind the other", timeout=120)
async def t_one_market (ctx):
    #  One fake clock for every process, two minutes into the session, so a symbol woken now has
    #  two minutes of market to catch up with first
    real = time.time () - 120
    fake = "%s@%.3f" % (h.FAKE_TIME, real)

    def fake_s ():
        return h.FAKE_TIME_NS // 10 ** 9 + (time.time () - real)

    args = ["--log", "sent.jsonl"]
    sims = {}
    d = None
    try:
        sims ["TDA"] = await asyncio.to_thread (start_sim, "market-a", args, None, fake)
        await asyncio.sleep (1)
        sims ["TDB"] = await asyncio.to_thread (start_sim, "market-b", args, None, fake)
        text = h.config (providers=[], fake_time=fake).rstrip ("\n")
        for name, sim in sims.items ():
            text += "\nprovider\n    name = %s\n    kind = TRUEDATA\n    ws_url = \"%s\"" % (name, sim.ws)
        d = h.Daemon (text + "\n", name="market",
                      env={"TRUEDATA_USERNAME": USER, "TRUEDATA_PASSWORD": PASSWORD})
        await asyncio.to_thread (d.start)
        await wait_providers (d, sims, "CONNECTED", 15)
        symbols = ("NIFTY-I", "RELIANCE")
        c = await h.client (d, "market")
        #  TDB's symbols wake 2 s after TDA's: its first events must be TDA's events of that time
        await subscribe (c, symbols=list (symbols), provider="TDA")
        await asyncio.sleep (2)
        await subscribe (c, symbols=list (symbols), provider="TDB")

        async def watch (seconds):
            got = {(p, s): [] for p in sims for s in symbols}
            for m in await c.during (seconds):
                if m.get ("type") == "MARKET_DATA" and (m ["stream"], m ["symbol"]) in got:
                    data = m ["data"]
                    got [m ["stream"], m ["symbol"]].append (
                        (data ["exchange_ts"] // 10 ** 9, data ["last_price"], data.get ("volume", 0)))
            return got

        def same_events (got, since_s, what):
            """From the first whole second after both streams have a tick past since_s to the last
            second both have completed, TDA's and TDB's ticks of each symbol are the same."""
            for symbol in symbols:
                a, b = got ["TDA", symbol], got ["TDB", symbol]
                a_after = [e for e in a if e [0] > since_s]
                b_after = [e for e in b if e [0] > since_s]
                check (a_after and b_after, "%s %s: TDA sent %d, TDB %d ticks after %d"
                       % (what, symbol, len (a_after), len (b_after), since_s))
                start = max (a_after [0] [0], b_after [0] [0]) + 1
                end = min (a [-1] [0], b [-1] [0]) - 1
                in_a = [e for e in a if start <= e [0] <= end]
                in_b = [e for e in b if start <= e [0] <= end]
                check (end - start >= 2 and len (in_a) >= 6,
                       "%s %s: an overlap of only %d s, %d ticks" % (what, symbol, end - start + 1, len (in_a)))
                check (in_a == in_b, "%s %s: seconds %d-%d differ\n  TDA %s\n  TDB %s"
                       % (what, symbol, start, end, in_a, in_b))

        got = await watch (6)
        same_events (got, 0, "both live")
        #  The sims' own logs say the same: every trade both sent has one stamp, price and volume
        for symbol in symbols:
            trades = []
            for sim in sims.values ():
                with open (os.path.join (sim.tmp, "sent.jsonl")) as f:
                    lines = [json.loads (line) for line in f.read ().split ("\n") [:-1]]
                trades.append ({line ["volume"]: (line ["exchange_ts"], line ["ltp"])
                                for line in lines if line ["symbol"] == symbol and line ["kind"] == "trade"})
            common = set (trades [0]) & set (trades [1])
            check (len (common) >= 10, "%s: only %d trades in both logs" % (symbol, len (common)))
            check (all (trades [0] [v] == trades [1] [v] for v in common),
                   "%s: the logs disagree on %s" % (symbol, [v for v in common if trades [0] [v] != trades [1] [v]]))

        #  Silent for 3 s: TDB sends none of that time's events, and then the market's current ones
        await asyncio.to_thread (sim_call, sims ["TDB"], "/_sim/fault?kind=silent")
        silent_s = fake_s ()
        await asyncio.sleep (3)
        resumed_s = fake_s ()
        await asyncio.to_thread (sim_call, sims ["TDB"], "/_sim/fault?kind=resume")
        got = await watch (6)
        for symbol in symbols:
            quiet = [e for e in got ["TDB", symbol] if silent_s + 1 < e [0] < resumed_s - 1]
            check (not quiet, "%s: TDB sent events of its silence: %s" % (symbol, quiet))
            missed = [e for e in got ["TDA", symbol] if silent_s + 1 < e [0] < resumed_s - 1]
            check (missed, "%s: TDA had nothing during TDB's silence" % symbol)
        same_events (got, resumed_s, "after the silence")

        #  Killed, and a new one on its port with the same arguments: it joins the market as it is now
        port = sims ["TDB"].port
        sims ["TDB"].proc.kill ()
        sims ["TDB"].proc.wait ()
        await wait_providers (d, ["TDB"], "CONNECTED", 10, up=False)
        sims ["TDB"]._cleanup ()
        sims ["TDB"] = await asyncio.to_thread (start_sim, "market-b2", args, port, fake)
        await wait_providers (d, ["TDB"], "CONNECTED", 40)
        restarted_s = fake_s ()
        got = await watch (6)
        same_events (got, restarted_s, "after the restart")
        await c.close ()
    finally:
        rc = await asyncio.to_thread (d.stop) if d else 0
        for sim in sims.values ():
            await asyncio.to_thread (sim.stop)
        check (rc == 0, "daemon exited %s" % rc)


@tap.case ("a wrong password: AUTH_FAILED with the server's words, not retried in a loop", timeout=30)
async def t_password (ctx):
    sim, d = await asyncio.to_thread (start_pair, "badpass", password="wrong")
    try:
        deadline = time.monotonic () + 15
        state = ("", "")
        while time.monotonic () < deadline:
            _, _, doc = await h.aget_json (d.url ("/ws/health"))
            state = (doc ["providers"] [0] ["state"], doc ["providers"] [0] ["reason"])
            if state [0] == "AUTH_FAILED":
                break
            await asyncio.sleep (0.2)
        check (state [0] == "AUTH_FAILED" and "Invalid Username or Password" in state [1],
               "health %s" % (state,))
        before = (await asyncio.to_thread (sim_call, sim, "/_sim/state", "GET")) ["logins_refused"]
        await asyncio.sleep (4)
        after = (await asyncio.to_thread (sim_call, sim, "/_sim/state", "GET")) ["logins_refused"]
        check (after - before <= 1, "%d more refused logins in 4 s" % (after - before))
    finally:
        rc = await asyncio.to_thread (d.stop)
        await asyncio.to_thread (sim.stop)
        check (rc == 0, "daemon exited %s\n%s" % (rc, d.log_tail (10)))


@tap.case ("no config file: TRUEDATA_USERNAME/PASSWORD and TRUEDATA_URL run TRUEDATA alone", timeout=30)
async def t_no_config (ctx):
    d = h.Daemon (None, name="noconfig", env={"TRUEDATA_USERNAME": USER, "TRUEDATA_PASSWORD": PASSWORD,
                                              "TRUEDATA_URL": ctx.sim.ws,
                                              "TICKMUX_FAKE_TIME": h.FAKE_TIME})
    d.env ["STATE_DIRECTORY"] = os.path.join (ctx.d.tmp or "/tmp", "noconfig-state")
    #  One live session per user (truedata.md 1): this one takes the place of the main daemon's
    try:
        await asyncio.to_thread (d.start)
        _, _, doc = await h.aget_json (d.url ("/ws/health"))
        check ([p ["name"] for p in doc ["providers"]] == ["TRUEDATA"], "providers %s" % doc ["providers"])
    finally:
        rc = await asyncio.to_thread (d.stop)
        check (rc == 0, "daemon exited %s" % rc)


@tap.case ("the password from a systemd credential ($CREDENTIALS_DIRECTORY) logs in", timeout=30)
async def t_credential (ctx):
    sim = await asyncio.to_thread (start_sim, "cred-sim")
    creds = os.path.join (ctx.d.tmp or "/tmp", "credentials")
    os.makedirs (creds, exist_ok=True)
    with open (os.path.join (creds, "TRUEDATA_PASSWORD"), "w") as f:
        f.write (PASSWORD + "\n")
    d = h.Daemon (daemon_config (sim), name="cred",
                  env={"TRUEDATA_USERNAME": USER, "CREDENTIALS_DIRECTORY": creds})
    try:
        await asyncio.to_thread (d.start)
        await h.wait_serving (d, timeout=15)
        _, _, doc = await h.aget_json (d.url ("/ws/health"))
        check (doc ["providers"] [0] ["state"] == "CONNECTED", "health %s" % h.short (doc))
        check (not any (PASSWORD in line for line in d.log ()), "the password was logged")
    finally:
        rc = await asyncio.to_thread (d.stop)
        await asyncio.to_thread (sim.stop)
        check (rc == 0, "daemon exited %s" % rc)


@tap.case ("daemon and simulator exit 0 on SIGTERM")
def t_stop (ctx):
    rc = ctx.d.stop ()
    check (rc == 0, "daemon exit %s\n%s" % (rc, ctx.d.log_tail (15)))
    rc = ctx.sim.stop ()
    check (rc == 0, "sim exit %s\n%s" % (rc, ctx.sim.log_tail (15)))


if __name__ == "__main__":
    tap.run (setup)
