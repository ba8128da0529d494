#  test_feed - the public ZeroMQ feed (issue 7), read by a Python service the way README says
#
#  pyzmq SUB on the XPUB, DEALER on the snapshot ROUTER, msgpack; every body is validated
#  against its schema in schemas/ (tick, status, stats, heartbeat, event).

import asyncio
import os
import sys
import time
import types

import msgpack
import zmq

sys.dont_write_bytecode = True
sys.path.insert (0, os.path.dirname (os.path.abspath (__file__)))
import tmharness as h
from tmharness import check, short

tap = h.Tap ()
SCHEMA_OF = {"tick": "tick", "status": "status", "stats": "stats", "heartbeat": "heartbeat",
             "failover": "event", "gap": "event"}


async def setup (tap):
    ctx = types.SimpleNamespace ()
    ctx.d = h.Daemon (h.config (providers=[{"name": "SIM", "kind": "SIM", "seed": 7, "rate": 400}]),
                      name="feed")
    tap.daemons = [ctx.d]
    await asyncio.to_thread (ctx.d.start)
    await h.wait_serving (ctx.d)
    ctx.feed, ctx.snapshot = ctx.d.feed_endpoints ()
    ctx.zmq = zmq.Context ()
    return ctx


def sub (ctx, *prefixes):
    s = ctx.zmq.socket (zmq.SUB)
    s.setsockopt (zmq.RCVTIMEO, 5000)
    s.setsockopt (zmq.LINGER, 0)
    for p in prefixes:
        s.setsockopt (zmq.SUBSCRIBE, p.encode ())
    s.connect (ctx.feed)
    return s


def body_errors (raw):
    body = msgpack.unpackb (raw, raw=False)
    kind = body.get ("kind") if isinstance (body, dict) else None
    check (kind in SCHEMA_OF, "a body of unknown kind: %s" % short (body))
    return body, h.schema_errors (SCHEMA_OF [kind], body)


def collect (s, seconds):
    got = []
    deadline = time.monotonic () + seconds
    while time.monotonic () < deadline:
        try:
            topic, raw = s.recv_multipart ()
        except zmq.Again:
            break
        body, errors = body_errors (raw)
        check (not errors, "%s: %s\n    %s" % (topic, errors, short (body)))
        got.append ((topic.decode (), body))
    return got


@tap.case ("everything on the feed for 3 s validates against schemas/: ticks, status, stats, heartbeats", timeout=30)
def t_everything (ctx):
    s = sub (ctx, "")
    got = collect (s, 3.5)
    s.close ()
    kinds = {b ["kind"] for _, b in got}
    check ({"tick", "status", "stats", "heartbeat"} <= kinds, "kinds seen: %s" % sorted (kinds))
    for topic, body in got:
        if body ["kind"] == "tick":
            check (topic == "md.%s.%s|" % (body ["stream"], body ["symbol"]),
                   "a tick of %s/%s on topic %r" % (body ["stream"], body ["symbol"], topic))
    streams = {b ["stream"] for _, b in got if b ["kind"] == "tick"}
    check (streams == {"ALL", "SIM"}, "streams %s" % sorted (streams))


@tap.case ("one symbol is exactly one prefix: md.ALL.NIFTY-I| carries NIFTY-I only, gap-free", timeout=20)
def t_one_symbol (ctx):
    s = sub (ctx, "md.ALL.NIFTY-I|")
    got = collect (s, 3)
    s.close ()
    check (len (got) >= 3, "only %d NIFTY-I ticks in 3 s" % len (got))
    check (all (t == "md.ALL.NIFTY-I|" and b ["symbol"] == "NIFTY-I" for t, b in got),
           "other topics: %s" % sorted ({t for t, _ in got}))
    h.check_contiguous ([b for _, b in got], "feed NIFTY-I")


@tap.case ("a heartbeat every second, its seq counting up", timeout=20)
def t_heartbeat (ctx):
    s = sub (ctx, "hb.")
    got = collect (s, 3.3)
    s.close ()
    seqs = [b ["seq"] for _, b in got]
    check (3 <= len (seqs) <= 4 and seqs == list (range (seqs [0], seqs [0] + len (seqs))),
           "heartbeats in 3.3 s: %s" % seqs)
    check (got [-1] [1] ["dropped"] == 0 and got [-1] [1] ["published"] > 0, short (got [-1] [1]))
    #  The same counts reach /ws/stats and /metrics
    _, _, doc = h.get_json (ctx.d.url ("/ws/stats"))
    check (doc ["feed"] ["published"] > 0 and doc ["feed"] ["dropped"] == 0, "/ws/stats feed %s"
           % doc.get ("feed"))
    _, _, text = h.curl_get (ctx.d.url ("/metrics"))
    text = text.decode () if isinstance (text, bytes) else text
    check ("\ntickmux_feed_published_total " in text and "\ntickmux_feed_dropped_total 0\n" in text,
           "feed counters missing from /metrics")


@tap.case ("snapshot then live (Clone): the last tick of every ALL symbol at once, then the live stream "
           "goes on from seq + 1", timeout=30)
def t_snapshot (ctx):
    s = sub (ctx, "md.ALL.")
    #  A first live tick proves the subscription is in place before the snapshot is asked
    #  for, so nothing falls between the two
    s.recv_multipart ()
    d = ctx.zmq.socket (zmq.DEALER)
    d.setsockopt (zmq.RCVTIMEO, 5000)
    d.setsockopt (zmq.LINGER, 0)
    d.connect (ctx.snapshot)
    d.send_multipart ([b"SNAPSHOT", b"md.ALL."])
    snapshot = {}
    while True:
        parts = d.recv_multipart ()
        if parts [0] == b"END":
            check (int (parts [1]) == len (snapshot), "END says %s, got %d" % (parts [1], len (snapshot)))
            break
        body, errors = body_errors (parts [1])
        check (not errors, "snapshot %s: %s" % (parts [0], errors))
        check (parts [0].decode () == "md.ALL.%s|" % body ["symbol"], "snapshot topic %r" % parts [0])
        snapshot [body ["symbol"]] = body ["seq"]
    d.close ()
    check (len (snapshot) >= 20, "snapshot of %d symbols" % len (snapshot))
    #  Apply the live stream on top: per symbol, drop what the snapshot already had, then each
    #  tick is the next seq
    last = dict (snapshot)
    applied = 0
    for topic, body in collect (s, 3):
        symbol, seq = body ["symbol"], body ["seq"]
        if symbol in last and seq <= last [symbol]:
            continue
        check (symbol not in last or seq == last [symbol] + 1,
               "%s: seq %d after %d" % (symbol, seq, last.get (symbol)))
        last [symbol] = seq
        applied += 1
    s.close ()
    check (applied > 50, "only %d live ticks applied" % applied)
    #  A snapshot of one prefix holds only it; a bad request gets no snapshot, the feed goes on
    d = ctx.zmq.socket (zmq.DEALER)
    d.setsockopt (zmq.RCVTIMEO, 5000)
    d.setsockopt (zmq.LINGER, 0)
    d.connect (ctx.snapshot)
    d.send_multipart ([b"HELLO"])
    d.send_multipart ([b"SNAPSHOT", b"md.SIM.RELIANCE|"])
    parts = d.recv_multipart ()
    check (parts [0] == b"md.SIM.RELIANCE|", "one-symbol snapshot: %s" % parts [0])
    check (d.recv_multipart () == [b"END", b"1"], "one-symbol snapshot did not END after 1")
    d.close ()


@tap.case ("a snapshot of status. names every provider, its symbol universe and its state now", timeout=20)
def t_status_snapshot (ctx):
    d = ctx.zmq.socket (zmq.DEALER)
    d.setsockopt (zmq.RCVTIMEO, 5000)
    d.setsockopt (zmq.LINGER, 0)
    d.connect (ctx.snapshot)
    d.send_multipart ([b"SNAPSHOT", b"status."])
    got = []
    while True:
        parts = d.recv_multipart ()
        if parts [0] == b"END":
            check (int (parts [1]) == len (got), "END says %s, got %d" % (parts [1], len (got)))
            break
        body, errors = body_errors (parts [1])
        check (not errors, "snapshot %s: %s" % (parts [0], errors))
        check (parts [0] == b"status.SIM" and body ["provider"] == "SIM", "topic %r" % parts [0])
        got.append (body)
    d.close ()
    check (got, "no status in the snapshot")
    symbols = set ()
    for body in got:
        check (body ["state"] == "CONNECTED", "a status in the snapshot says %s" % body ["state"])
        symbols.update (body ["symbols"])
    check (set (h.SIM_SYMBOLS) <= symbols and len (symbols) == got [-1]["symbols_total"],
           "the snapshot's universe: %d of %d symbols" % (len (symbols), got [-1]["symbols_total"]))


TAIL = os.path.join (os.path.dirname (h.BIN), "tickmux-tail")


@tap.case ("tickmux-tail --topic md.ALL.NIFTY-I| --count 5 prints 5 JSON lines of valid ticks; "
           "--stats prints rates; a bad option exits 2", timeout=30)
def t_tail (ctx):
    import json
    import subprocess
    run = subprocess.run ([TAIL, "--endpoint", ctx.feed, "--topic", "md.ALL.NIFTY-I|", "--count", "5"],
                          capture_output=True, timeout=20)
    check (run.returncode == 0, "exit %s: %s" % (run.returncode, run.stderr.decode (errors="replace")))
    lines = run.stdout.decode ().splitlines ()
    check (len (lines) == 5, "%d lines: %s" % (len (lines), lines [:2]))
    for line in lines:
        doc = json.loads (line)
        check (doc ["topic"] == "md.ALL.NIFTY-I|", "topic %r" % doc ["topic"])
        errors = h.schema_errors ("tick", doc ["body"])
        check (not errors, "%s\n    %s" % (errors, short (doc ["body"])))
    run = subprocess.run ([TAIL, "--endpoint", ctx.feed, "--stats", "--count", "2"],
                          capture_output=True, timeout=20)
    rows = [json.loads (l) for l in run.stdout.decode ().splitlines ()]
    check (run.returncode == 0 and len (rows) == 2, "stats: %s" % rows)
    check (rows [1] ["rate"] > 300 and rows [1] ["gaps"] == 0 and rows [1] ["unreadable"] == 0,
           "stats at 400 ticks/s on ALL and SIM: %s" % rows)
    run = subprocess.run ([TAIL, "--bogus"], capture_output=True, timeout=10)
    check (run.returncode == 2 and b"usage" in run.stderr, "bad option: %s" % run.returncode)


@tap.case ("CURVE: a client with an allowed key gets the feed and snapshots; a wrong key or none "
           "gets nothing", timeout=60)
def t_curve (ctx):
    import subprocess
    import tempfile
    tmp = tempfile.mkdtemp (prefix="tickmux-curve-")
    os.mkdir (os.path.join (tmp, "clients"))
    for name in ("server", "alice", "mallory"):
        run = subprocess.run ([TAIL, "--make-cert", os.path.join (tmp, name)], capture_output=True,
                              timeout=10)
        check (run.returncode == 0 and len (run.stdout.strip ()) == 40, "make-cert %s: %s" % (name, run))
    os.rename (os.path.join (tmp, "alice"), os.path.join (tmp, "clients", "alice"))
    d = h.Daemon (h.config ().rstrip ("\n") + "\nfeed\n    curve_cert = %s\n    curve_clients = %s\n"
                  % (os.path.join (tmp, "server"), os.path.join (tmp, "clients")), name="curve")
    tap.daemons.append (d)
    d.start ()
    try:
        feed, snapshot = d.feed_endpoints ()
        server, alice = os.path.join (tmp, "server"), os.path.join (tmp, "clients", "alice")
        #  alice's secret stays where it was made; her public file is in clients/
        os.rename (os.path.join (tmp, "alice_secret"), alice + "_secret")
        run = subprocess.run ([TAIL, "--endpoint", feed, "--server-cert", server, "--cert", alice,
                               "--topic", "hb.", "--count", "1"], capture_output=True, timeout=15)
        check (run.returncode == 0 and b'"kind":"heartbeat"' in run.stdout, "alice: %s" % run)
        for who, args in (("mallory", ["--server-cert", server, "--cert", os.path.join (tmp, "mallory")]),
                          ("no key", [])):
            try:
                run = subprocess.run ([TAIL, "--endpoint", feed, "--topic", "", "--count", "1"] + args,
                                      capture_output=True, timeout=4)
                check (False, "%s got %s" % (who, run.stdout [:200]))
            except subprocess.TimeoutExpired as e:
                check (not e.stdout, "%s got %r" % (who, e.stdout))
        #  The snapshot ROUTER is CURVE too: alice's DEALER gets one, a plain DEALER nothing
        def snap (secure):
            dealer = ctx.zmq.socket (zmq.DEALER)
            dealer.setsockopt (zmq.RCVTIMEO, 3000)
            dealer.setsockopt (zmq.LINGER, 0)
            if secure:
                keys = {}
                for path, key in ((server, "server"), (alice + "_secret", "secret"), (alice, "public")):
                    for line in open (path):
                        if "key" in line and "=" in line:
                            keys [(key, line.split ("=") [0].strip ())] = line.split ('"') [1]
                dealer.curve_serverkey = keys [("server", "public-key")].encode ()
                dealer.curve_publickey = keys [("public", "public-key")].encode ()
                dealer.curve_secretkey = keys [("secret", "secret-key")].encode ()
            dealer.connect (snapshot)
            dealer.send_multipart ([b"SNAPSHOT", b"md.ALL."])
            try:
                first = dealer.recv_multipart ()
            except zmq.Again:
                first = None
            dealer.close ()
            return first
        check (snap (True) is not None, "alice's snapshot request went unanswered")
        check (snap (False) is None, "a plain DEALER got a snapshot")
    finally:
        rc = d.stop ()
        import shutil
        shutil.rmtree (tmp, ignore_errors=True)
        check (rc == 0, "daemon exit %s" % rc)


@tap.case ("schemas/feed.md's C example compiles with -Wall -Werror and prints 5 NIFTY-I ticks", timeout=60)
def t_c_example (ctx):
    import re
    import shutil
    import subprocess
    import tempfile
    text = open (os.path.join (h.SRCDIR, "schemas", "feed.md")).read ()
    blocks = re.findall (r"```c\n(.*?)```", text, re.S)
    check (len (blocks) == 1, "feed.md has %d C blocks" % len (blocks))
    tmp = tempfile.mkdtemp (prefix="tickmux-cexample-")
    try:
        src = os.path.join (tmp, "feed_tail.c")
        with open (src, "w") as f:
            f.write (blocks [0])
        flags = subprocess.run (["pkg-config", "--cflags", "--libs", "libzmq", "msgpack"],
                                capture_output=True, text=True)
        if flags.returncode != 0:
            flags = subprocess.run (["pkg-config", "--cflags", "--libs", "libzmq", "msgpack-c"],
                                    capture_output=True, text=True)
        exe = os.path.join (tmp, "feed_tail")
        cc = subprocess.run (["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", src, "-o", exe]
                             + flags.stdout.split (), capture_output=True, text=True)
        check (cc.returncode == 0, "cc: %s" % cc.stderr)
        run = subprocess.run ([exe, ctx.feed, "md.ALL.NIFTY-I|", "5"], capture_output=True,
                              text=True, timeout=20)
        lines = run.stdout.splitlines ()
        check (run.returncode == 0 and len (lines) == 5 and all (l.startswith ("NIFTY-I ") for l in lines),
               "feed_tail: %s %r" % (run.returncode, lines))
    finally:
        shutil.rmtree (tmp, ignore_errors=True)


@tap.case ("the daemon exits 0 on SIGTERM within 5 s", timeout=20)
def t_stop (ctx):
    ctx.zmq.term ()
    rc = ctx.d.stop ()
    check (rc == 0, "daemon exit %s\n%s" % (rc, ctx.d.log_tail (15)))
    check ([t for _, _, t in ctx.d.lines if "feed: stopped" in t and " dropped=0 " in t],
           "feed stop line: %s" % [t for _, _, t in ctx.d.lines if "feed:" in t])


if __name__ == "__main__":
    tap.run (setup)
