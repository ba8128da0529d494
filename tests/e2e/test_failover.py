#  test_failover - the ALL stream across provider failures (issue 5)
#
#  Two `tickmux-sim truedata` processes with the same seed and one anchored fake clock are two
#  providers of one market, TDA (preferred) and TDB, each logging what it sent. The client's
#  ALL stream is checked against those logs, not against tickmux's own sequence numbers:
#  every delivered tick matches one its provider sent (exchange time, price, volume), none is
#  delivered twice, none is older than one already delivered. Chaos: kill TDA's process, keep
#  its connection open but silent, make it send garbage; each time ALL goes on from TDB with a
#  FAILOVER, and TDA takes over again after the hold-down.

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
from tmharness import check, short, subscribe

tap = h.Tap ()
USER, PASSWORD = "tmuser", "tmpass"
SYMBOLS = ["NIFTY-I", "RELIANCE"]
HOLD_DOWN_MS = 2000


def sim_call (sim, path, method="POST"):
    req = urllib.request.Request (sim.url (path), method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen (req, timeout=5) as reply:
        body = reply.read ()
    return json.loads (body) if body.strip () else None


class Market:
    """The two sims, their logs, the daemon, and everything the client received on ALL."""

    def __init__ (self):
        #  One fake clock for every process, however late it starts (a restarted sim too)
        self.fake = "%s@%.3f" % (h.FAKE_TIME, time.time ())
        self.logdir = h.tempfile.mkdtemp (prefix="tickmux-failover-")
        self.sims = {}
        self.ports = {}
        self.received = []                  #  Every message of the recording client

    def start_sim (self, name, port=None):
        args = ["--seed", "3", "--rate", "4", "--heartbeat-ms", "1000",
                "--log", os.path.join (self.logdir, name + ".jsonl")]
        sim = h.Sim ("truedata", args=args, name="sim-" + name, env={"TICKMUX_FAKE_TIME": self.fake})
        if port:
            sim.args [sim.args.index ("--port") + 1] = str (port)
        sim.start ()
        self.sims [name] = sim
        self.ports [name] = sim.port
        return sim

    def config (self):
        text = h.config (providers=[], routes=[(s, "TDA,TDB") for s in SYMBOLS]).rstrip ("\n")
        for name in ("TDA", "TDB"):
            text += ("\nprovider\n    name = %s\n    kind = TRUEDATA\n    ws_url = \"%s\""
                     % (name, self.sims [name].ws))
        text += "\narbiter\n    hold_down = %d\n" % HOLD_DOWN_MS
        return text + "\n"

    def sent (self, provider):
        """(symbol, exchange_ts, ltp, volume) of every line provider's sim logged."""
        out = set ()
        with open (os.path.join (self.logdir, provider + ".jsonl")) as f:
            for line in f:
                if line.endswith ("\n"):
                    r = json.loads (line)
                    out.add ((r ["symbol"], r ["exchange_ts"], r ["ltp"], r ["volume"]))
        return out


async def setup (tap):
    m = Market ()
    await asyncio.to_thread (m.start_sim, "TDA")
    await asyncio.to_thread (m.start_sim, "TDB")
    m.d = h.Daemon (m.config (), name="failover",
                    env={"TRUEDATA_USERNAME": USER, "TRUEDATA_PASSWORD": PASSWORD,
                         "TICKMUX_FAKE_TIME": m.fake})
    await asyncio.to_thread (m.d.start)
    tap.daemons = [m.d, m.sims ["TDA"], m.sims ["TDB"]]
    await h.wait_serving (m.d, timeout=15)
    m.c = await h.client (m.d, "all", persistent=True)
    await subscribe (m.c, channel="STATUS")
    await subscribe (m.c, symbols=SYMBOLS, provider="ALL")
    return m


async def watch (m, pred, timeout, what):
    """Record everything until pred (msg) holds; return that message."""
    deadline = time.monotonic () + timeout
    while True:
        left = deadline - time.monotonic ()
        item = await m.c.recv_item (left)
        if item is None:
            recent = [x for x in m.received [-40:] if x.get ("type") != "MARKET_DATA"]
            h.fail ("no %s within %.0f s; last events: %s" % (what, timeout,
                    " | ".join (short (x, 160) for x in recent [-6:])))
        check (not item.error, item.error or "")
        m.received.append (item.msg)
        if pred (item.msg):
            return item.msg


async def record (m, seconds):
    deadline = time.monotonic () + seconds
    while True:
        item = await m.c.recv_item (deadline - time.monotonic ())
        if item is None:
            return
        check (not item.error, item.error or "")
        m.received.append (item.msg)


def failover (symbol, frm, to, reasons=None):
    def pred (msg):
        return (msg.get ("type") == "FAILOVER" and msg ["symbol"] == symbol and msg ["from"] == frm
                and msg ["to"] == to and (reasons is None or msg ["reason"] in reasons))
    return pred


def tick_from (provider, symbol="NIFTY-I"):
    def pred (msg):
        return (msg.get ("type") == "MARKET_DATA" and msg ["stream"] == "ALL"
                and msg ["symbol"] == symbol and msg ["provider"] == provider)
    return pred


async def back_to_a (m, why):
    got = await watch (m, failover ("NIFTY-I", "TDB", "TDA", ("RECOVERED",)), 40,
                       "FAILOVER back to TDA after %s" % why)
    await watch (m, tick_from ("TDA"), 10, "a TDA tick on ALL after %s" % why)
    return got


@tap.case ("both up: ALL carries TDA, the preferred provider, with no FAILOVER", timeout=30)
async def t_steady (m):
    await watch (m, tick_from ("TDA"), 15, "a TDA tick")
    await record (m, 3)
    ticks = [x for x in m.received if x.get ("type") == "MARKET_DATA"]
    check (ticks and all (t ["provider"] == "TDA" for t in ticks),
           "providers on ALL: %s" % sorted ({t ["provider"] for t in ticks}))
    check (not [x for x in m.received if x.get ("type") == "FAILOVER"], "a FAILOVER while both were up")


@tap.case ("TDA's process killed: FAILOVER to TDB (DISCONNECTED), ALL goes on; TDA back after the hold-down",
           timeout=90)
async def t_killed (m):
    sim = m.sims ["TDA"]
    sim.proc.kill ()
    sim.proc.wait ()
    await watch (m, failover ("NIFTY-I", "TDA", "TDB"), 15, "FAILOVER TDA -> TDB")
    await watch (m, tick_from ("TDB"), 10, "a TDB tick on ALL")
    await asyncio.to_thread (m.start_sim, "TDA", m.ports ["TDA"])
    sim._cleanup ()
    tap.daemons.append (m.sims ["TDA"])
    await back_to_a (m, "the restart")


@tap.case ("TDA silent with its connection open: FAILOVER to TDB, back after resume and the hold-down",
           timeout=90)
async def t_silent (m):
    await asyncio.to_thread (sim_call, m.sims ["TDA"], "/_sim/fault?kind=silent")
    got = await watch (m, failover ("NIFTY-I", "TDA", "TDB"), 20, "FAILOVER TDA -> TDB")
    check (got ["reason"] in ("SYMBOL_STALE", "STALE"), "reason %s" % got ["reason"])
    await watch (m, tick_from ("TDB"), 10, "a TDB tick on ALL")
    await asyncio.to_thread (sim_call, m.sims ["TDA"], "/_sim/fault?kind=resume")
    await back_to_a (m, "the silence")


@tap.case ("TDA sends garbage: FAILOVER to TDB (ERRORS), back once it is clean again", timeout=90)
async def t_garbage (m):
    for _ in range (12):
        await asyncio.to_thread (sim_call, m.sims ["TDA"], "/_sim/fault?kind=garbage")
    got = await watch (m, failover ("NIFTY-I", "TDA", "TDB"), 15, "FAILOVER TDA -> TDB")
    check (got ["reason"] == "ERRORS", "reason %s" % got ["reason"])
    await back_to_a (m, "the garbage")


@tap.case ("both quiet for 4 s (a quiet market): no FAILOVER", timeout=40)
async def t_quiet (m):
    for name in ("TDA", "TDB"):
        await asyncio.to_thread (sim_call, m.sims [name], "/_sim/fault?kind=silent")
    before = len (m.received)
    await record (m, 4)
    for name in ("TDA", "TDB"):
        await asyncio.to_thread (sim_call, m.sims [name], "/_sim/fault?kind=resume")
    await record (m, 4)
    switches = [x for x in m.received [before:] if x.get ("type") == "FAILOVER"]
    check (not switches, "FAILOVER in a quiet market: %s" % [short (x) for x in switches])


@tap.case ("the whole ALL stream against the sims' logs: each tick sent by its provider, none twice, "
           "none backward, seq gap-free", timeout=30)
async def t_stream (m):
    sent = {name: m.sent (name) for name in ("TDA", "TDB")}
    by_symbol = {}
    for msg in m.received:
        if msg.get ("type") == "MARKET_DATA" and msg ["stream"] == "ALL":
            by_symbol.setdefault (msg ["symbol"], []).append (msg)
    check (set (by_symbol) == set (SYMBOLS), "ALL carried %s" % sorted (by_symbol))
    for symbol, ticks in by_symbol.items ():
        h.check_contiguous (ticks, "ALL %s" % symbol)
        seen = set ()
        last = None
        for t in ticks:
            d = t ["data"]
            key = (symbol, d ["exchange_ts"], d ["last_price"], d.get ("volume", 0))
            check (key in sent [t ["provider"]], "%s seq %d from %s was never sent by it: %s"
                   % (symbol, t ["seq"], t ["provider"], short (d)))
            #  The same market content twice: what a client sees, not how it travelled
            event = json.dumps ({k: v for k, v in d.items ()
                                 if k not in ("recv_ts", "norm_ts", "pub_ts", "src_seq")},
                                sort_keys=True)
            check (event not in seen, "%s delivered twice: %s" % (symbol, short (d)))
            seen.add (event)
            if last:
                check (d ["exchange_ts"] >= last ["exchange_ts"]
                       and d.get ("volume", 0) >= last.get ("volume", 0),
                       "%s went backward at seq %d: %s after %s" % (symbol, t ["seq"], short (d),
                                                                    short (last)))
            last = d
    providers = {t ["provider"] for ticks in by_symbol.values () for t in ticks}
    check (providers == {"TDA", "TDB"}, "ALL came from %s" % sorted (providers))
    #  A symbol's provider on ALL changes only at a FAILOVER of that symbol, which comes first
    current = {}
    for msg in m.received:
        if msg.get ("type") == "FAILOVER":
            check (current.get (msg ["symbol"], msg ["from"]) == msg ["from"],
                   "FAILOVER from %s while ALL %s came from %s" % (msg ["from"], msg ["symbol"],
                                                               current.get (msg ["symbol"])))
            current [msg ["symbol"]] = msg ["to"]
        elif msg.get ("type") == "MARKET_DATA" and msg ["stream"] == "ALL":
            was = current.setdefault (msg ["symbol"], msg ["provider"])
            check (msg ["provider"] == was, "%s seq %d from %s before any FAILOVER to it (ALL "
                   "was on %s)" % (msg ["symbol"], msg ["seq"], msg ["provider"], was))


@tap.case ("the daemon and both simulators exit 0 on SIGTERM; one market needed no resync")
def t_stop (m):
    rc = m.d.stop ()
    check (rc == 0, "daemon exit %s\n%s" % (rc, m.d.log_tail (15)))
    line = [t for _, _, t in m.d.lines if "arbiter: stopped" in t]
    check (line and " resyncs=0 " in line [-1] and " switches=0 " not in line [-1],
           "arbiter: %s" % line)
    for name, sim in m.sims.items ():
        rc = sim.stop ()
        check (rc == 0, "%s exit %s\n%s" % (name, rc, sim.log_tail (15)))


if __name__ == "__main__":
    tap.run (setup)
