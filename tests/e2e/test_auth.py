#  test_auth - client authentication, the limits on clients, and TLS (issue 8)
#
#  API tokens from the config (a SHA-256 in the file, or the token itself in a credential),
#  presented as "Authorization: Bearer" or ?token=; per-token symbols, streams and the ORDERS
#  channel; health and metrics open or protected; the limits on connections (in all and per
#  address), on messages a second and on a message's size, each answered clearly and counted
#  in /metrics; wss:// and https:// with a throwaway certificate. Finally no log of any daemon
#  here holds a token it was given.

import asyncio
import hashlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import types

import websockets

sys.dont_write_bytecode = True
sys.path.insert (0, os.path.dirname (os.path.abspath (__file__)))
import tmharness as h
from tmharness import check, short

tap = h.Tap ()

#  Made per run, so nothing here is a secret anyone could reuse
DESK = os.urandom (18).hex ()           #  Everything
VIEWER = os.urandom (18).hex ()         #  NIFTY-I, BANKNIFTY*, the ALL stream, no orders
ROBOT = os.urandom (18).hex ()          #  From a credential (an environment variable)
SECRETS = (DESK, VIEWER, ROBOT)


def sha (token):
    return hashlib.sha256 (token.encode ()).hexdigest ()


def tokens_config ():
    return ("token\n    name = desk\n    sha256 = %s\n"
            "token\n    name = viewer\n    sha256 = %s\n    symbols = \"NIFTY-I, BANKNIFTY*\"\n"
            "    providers = ALL\n    orders = 0\n"
            "token\n    name = robot\n    credential = ROBOT_TOKEN\n" % (sha (DESK), sha (VIEWER)))


def metric (text, reason):
    for line in text.splitlines ():
        if line.startswith ('tickmux_rejected_total{reason="%s"}' % reason):
            return int (line.split () [-1])
    fail ("no tickmux_rejected_total for %s" % reason)


def fail (message):
    h.fail (message)


async def metrics (d, token=None):
    url = d.url ("/metrics") + ("?token=" + token if token else "")
    status, _, body = await asyncio.to_thread (h.http_get, url)
    check (status == 200, "/metrics: %d" % status)
    return body


async def refused (uri, status, what, **kw):
    try:
        ws = await websockets.connect (uri, open_timeout=5, **kw)
    except websockets.InvalidStatusCode as e:
        check (e.status_code == status, "%s: HTTP %d (expected %d)" % (what, e.status_code, status))
        return
    await ws.close ()
    fail ("%s: the gateway accepted the connection" % what)


async def setup (tap):
    ctx = types.SimpleNamespace (secrets=list (SECRETS))
    ctx.tmp = tempfile.mkdtemp (prefix="tickmux-auth-")
    extra = {"max_rate": 100, "max_connections": 5, "max_connections_per_ip": 3}
    ctx.d = h.Daemon (h.config (gateway_extra=extra) + tokens_config (), name="auth",
                      env={"ROBOT_TOKEN": ROBOT})
    ctx.daemons = [ctx.d]
    tap.daemons = [ctx.d]
    await asyncio.to_thread (ctx.d.start)
    await h.wait_serving (ctx.d)
    return ctx


@tap.case ("no token or a wrong one: HTTP 401 with an ERROR body, counted as no_token / bad_token")
async def t_refused (ctx):
    before = await metrics (ctx.d)
    await refused (ctx.d.ws_uri, 401, "no token")
    await refused (ctx.d.ws_uri + "?token=" + "0" * 36, 401, "a wrong ?token=")
    await refused (ctx.d.ws_uri, 401, "a wrong bearer", extra_headers={"Authorization": "Bearer nope"})
    await refused (ctx.d.ws_uri, 401, "not a bearer", extra_headers={"Authorization": "Basic " + DESK})
    out = subprocess.run (["curl", "-s", "-i", "-m", "5", "-H", "Connection: Upgrade", "-H",
                           "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13", "-H",
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", ctx.d.url ("/ws")],
                          capture_output=True, text=True, timeout=10)
    head, _, body = out.stdout.partition ("\n\n")     #  text=True made each CRLF a newline
    check (head.startswith ("HTTP/1.1 401"), "curl: %s" % short (out.stdout))
    doc = json.loads (body)
    check (doc ["type"] == "ERROR" and doc ["code"] == "UNAUTHORIZED", "body %s" % short (doc))
    after = await metrics (ctx.d)
    check (metric (after, "no_token") - metric (before, "no_token") == 2
           and metric (after, "bad_token") - metric (before, "bad_token") == 3,
           "counters: no_token %d -> %d, bad_token %d -> %d" % (
               metric (before, "no_token"), metric (after, "no_token"),
               metric (before, "bad_token"), metric (after, "bad_token")))


@tap.case ("a token as Authorization: Bearer, as ?token=, and from a credential: served")
async def t_tokens (ctx):
    for name, kw, uri in (("bearer", {"extra_headers": {"Authorization": "Bearer " + DESK}}, ctx.d.ws_uri),
                          ("query", {}, ctx.d.ws_uri + "?token=" + DESK),
                          ("credential", {"extra_headers": {"Authorization": "bearer " + ROBOT}},
                           ctx.d.ws_uri)):
        ws = await websockets.connect (uri, open_timeout=5, **kw)
        c = h.WsClient (uri, name)
        c.ws = ws
        c.task = asyncio.ensure_future (c._reader ())
        await h.subscribe (c, "RELIANCE")
        await c.expect (h.is_tick ("RELIANCE"), timeout=5)
        await c.close ()


@tap.case ("a token not allowed a symbol, a stream or the ORDERS channel gets NOT_ALLOWED; what it may have works")
async def t_permissions (ctx):
    c = await h.client (ctx.d.ws_uri + "?token=" + VIEWER, "viewer")
    await h.subscribe (c, "NIFTY-I")
    await h.subscribe (c, "BANKNIFTY-I")
    for req, what in (({"symbol": "RELIANCE"}, "RELIANCE"),
                      ({"symbol": "NIFTY-I", "provider": "SIM"}, "the SIM stream"),
                      ({"channel": "ORDERS"}, "the ORDERS channel")):
        req = dict (req, type="SUBSCRIBE", id=c.new_id ())
        reply = await c.request (req)
        check (reply ["type"] == "ERROR" and reply ["code"] == "NOT_ALLOWED"
               and reply.get ("id") == req ["id"], "%s: %s" % (what, short (reply)))
    await c.expect (h.is_tick ("NIFTY-I"))
    check (metric (await metrics (ctx.d), "not_allowed") >= 3, "not_allowed not counted")
    await c.close ()


@tap.case ("connections: the 4th from one address gets 429, the 6th in all 503; closing frees a place", timeout=30)
async def t_connections (ctx):
    held = []
    uri = ctx.d.ws_uri + "?token=" + DESK
    for i in range (3):
        held.append (await websockets.connect (uri, open_timeout=5))
    await refused (uri, 429, "a 4th from 127.0.0.1")
    for i in range (2):
        held.append (await websockets.connect (uri, open_timeout=5, local_addr=("127.0.0.2", 0)))
    await refused (uri, 503, "a 6th in all", local_addr=("127.0.0.3", 0))
    text = await metrics (ctx.d)
    check (metric (text, "max_connections_per_ip") >= 1 and metric (text, "max_connections") >= 1,
           "limits not counted")
    await held.pop ().close ()
    deadline = time.monotonic () + 5
    while True:                             #  The gateway sees the close a moment later
        try:
            held.append (await websockets.connect (uri, open_timeout=5, local_addr=("127.0.0.3", 0)))
            break
        except websockets.InvalidStatusCode:
            check (time.monotonic () < deadline, "no place after a client left")
            await asyncio.sleep (0.05)
    for ws in held:
        await ws.close ()


@tap.case ("5 000 SUBSCRIBE in a second from one client: each answered once, the excess RATE_LIMITED, the connection kept", timeout=40)
async def t_rate (ctx):
    c = await h.client (ctx.d.ws_uri + "?token=" + DESK, "flood")
    before = metric (await metrics (ctx.d), "max_rate")
    ids = []
    t0 = time.monotonic ()
    for i in range (5000):
        req = {"type": "SUBSCRIBE", "symbol": "NIFTY-I", "id": "f%d" % i}
        ids.append (req ["id"])
        await c.ws.send (json.dumps (req))
    sent_in = time.monotonic () - t0
    answers = {}
    deadline = time.monotonic () + 20
    while len (answers) < 5000 and time.monotonic () < deadline:
        m = await c.expect (lambda m: m.get ("type") in ("SUBSCRIBED", "ERROR"), timeout=10)
        check (m.get ("id") not in answers, "%s answered twice" % m.get ("id"))
        answers [m.get ("id")] = m
    check (len (answers) == 5000, "%d of 5000 answered" % len (answers))
    limited = [m for m in answers.values () if m ["type"] == "ERROR"]
    check (all (m ["code"] == "RATE_LIMITED" for m in limited), "other errors: %s"
           % short ([m for m in limited if m ["code"] != "RATE_LIMITED"] [:3]))
    accepted = 5000 - len (limited)
    #  A bucket 2 s deep at 100 a second: 200 at once, then 100 for each second of sending
    check (150 <= accepted <= 200 + 100 * (sent_in + 1) + 10,
           "%d accepted in %.2f s of sending" % (accepted, sent_in))
    after = metric (await metrics (ctx.d), "max_rate")
    check (after - before == len (limited), "max_rate counted %d, %d refused" % (after - before, len (limited)))
    h.diag ("5000 SUBSCRIBE sent in %.2f s: %d accepted, %d RATE_LIMITED" % (sent_in, accepted, len (limited)))
    await asyncio.sleep (0.5)
    await c.ping ()
    await c.close ()


@tap.case ("a 10 MiB frame: closed with 1009 and counted; the next client is served", timeout=30)
async def t_big_frame (ctx):
    c = await h.client (ctx.d.ws_uri + "?token=" + DESK, "big")
    try:
        await c.ws.send ("x" * (10 * 1024 * 1024))
    except websockets.ConnectionClosed:
        pass
    code, _ = await c.wait_closed (10)
    check (code == 1009, "close code %s" % code)
    check (metric (await metrics (ctx.d), "max_message") >= 1, "max_message not counted")
    c2 = await h.client (ctx.d.ws_uri + "?token=" + DESK, "after")
    await h.subscribe (c2, "NIFTY-I")
    await c2.close ()


@tap.case ("gateway/health = token: /ws/health, /ws/stats and /metrics need a token, the dashboard does not", timeout=30)
async def t_protected (ctx):
    d = h.Daemon (h.config (gateway_extra={"health": "token"}) + tokens_config (), name="protected",
                  env={"ROBOT_TOKEN": ROBOT})
    ctx.daemons.append (d)
    tap.daemons.append (d)
    await asyncio.to_thread (d.start)
    try:
        for path in ("/ws/health", "/ws/stats", "/metrics"):
            status, _, body = await asyncio.to_thread (h.http_get, d.url (path))
            check (status == 401 and json.loads (body) ["code"] == "UNAUTHORIZED",
                   "%s without a token: %d %s" % (path, status, body [:100]))
            status, _, _ = await asyncio.to_thread (h.http_get, d.url (path) + "?token=" + VIEWER)
            check (status in (200, 503), "%s with ?token=: %d" % (path, status))
        out = subprocess.run (["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5",
                               "-H", "Authorization: Bearer " + DESK, d.url ("/metrics")],
                              capture_output=True, text=True, timeout=10)
        check (out.stdout == "200", "/metrics with a bearer: %s" % out.stdout)
        status, _, _ = await asyncio.to_thread (h.http_get, d.url ("/"))
        check (status == 200, "the dashboard page: %d" % status)
    finally:
        d.stop ()


@tap.case ("config: a bad sha256, a missing credential and health = token without tokens are refused by name")
def t_config (ctx):
    for text, says in (("token\n    name = x\n    sha256 = abc\n", "64 hex"),
                       ("token\n    name = x\n    credential = NO_SUCH_TOKEN_VAR\n", "NO_SUCH_TOKEN_VAR"),
                       ("gateway\n    health = token\n", "no token block"),
                       ("gateway\n    tls_cert = /x.pem\n", "go together")):
        rc, _, err = h.run_tickmux (["--config", "@CONFIG@"], config_text=text)
        check (rc == 1 and says in err, "%r: exit %s, %s" % (text, rc, err))


def make_cert (tmp):
    cert, key = os.path.join (tmp, "cert.pem"), os.path.join (tmp, "key.pem")
    out = subprocess.run (["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                           "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                           "-keyout", key, "-out", cert], capture_output=True, text=True, timeout=60)
    check (out.returncode == 0, "openssl: %s" % out.stderr)
    return cert, key


@tap.case ("TLS: wss:// and https:// with a throwaway certificate; plain ws:// to that port gets nothing", timeout=60)
async def t_tls (ctx):
    cert, key = make_cert (ctx.tmp)
    d = h.Daemon (h.config (gateway_extra={"tls_cert": cert, "tls_key": key}), name="tls")
    ctx.daemons.append (d)
    await asyncio.to_thread (d.start)
    try:
        check (any ("listening on wss://" in line for line in d.log ()), "no wss:// in the log")
        context = ssl.create_default_context (cafile=cert)
        uri = "wss://127.0.0.1:%d/ws" % d.port
        ws = await websockets.connect (uri, ssl=context, open_timeout=5)
        c = h.WsClient (uri, "tls")
        c.ws = ws
        c.task = asyncio.ensure_future (c._reader ())
        await h.subscribe (c, "NIFTY-I")
        tick = await c.expect (h.is_tick ("NIFTY-I"))
        check (ws.transport.get_extra_info ("ssl_object").version () in ("TLSv1.2", "TLSv1.3"),
               "not TLS")
        await c.close ()
        out = subprocess.run (["curl", "-s", "-m", "5", "--cacert", cert,
                               "https://127.0.0.1:%d/ws/health" % d.port],
                              capture_output=True, text=True, timeout=10)
        check (out.returncode == 0 and json.loads (out.stdout) ["status"] in ("ok", "down"),
               "https /ws/health: %s %s" % (out.returncode, out.stderr))
        try:
            plain = await websockets.connect ("ws://127.0.0.1:%d/ws" % d.port, open_timeout=3)
            await plain.close ()
            fail ("plain ws:// was accepted on the TLS port")
        except (websockets.InvalidHandshake, websockets.InvalidMessage, OSError,
                asyncio.TimeoutError, EOFError):
            pass
        h.diag ("a tick over wss://: seq %d" % tick ["seq"])
    finally:
        d.stop ()


@tap.case ("SIGHUP under load: tokens and limits change, a revoked token's client is closed 4401, 20 others keep every tick", timeout=150)
async def t_reload (ctx):
    fresh = os.urandom (18).hex ()
    ctx.secrets.append (fresh)
    #  A slow market: 21 clients here each check every message against the schema in this one
    #  Python process, which must keep up on a loaded, sanitized run too
    d = h.Daemon (h.config (providers=[{"name": "SIM", "kind": "SIM", "seed": 7, "rate": 100}],
                            gateway_extra={"max_rate": 100}) + tokens_config (), name="reload",
                  env={"ROBOT_TOKEN": ROBOT})
    ctx.daemons.append (d)
    tap.daemons.append (d)
    await asyncio.to_thread (d.start)
    clients = []
    for i in range (20):
        c = await h.client (d.ws_uri + "?token=" + DESK, "desk%d" % i)
        await h.subscribe (c, "NIFTY-I")
        clients.append (c)
    viewer = await h.client (d.ws_uri + "?token=" + VIEWER, "viewer")
    await h.subscribe (viewer, "NIFTY-I")
    await refused (d.ws_uri + "?token=" + fresh, 401, "a token not yet configured")
    for c in clients:
        c.drain ()
    path = os.path.join (d.tmp, "tickmux.cfg")
    running = open (path).read ()
    #  A file that does not parse changes nothing
    with open (path, "w") as f:
        f.write (running + "gateway\n    port = many\n")
    since = time.monotonic ()
    d.proc.send_signal (signal.SIGHUP)
    await h.wait_http (d.url ("/ws/health"), lambda *_: any (
        "reload failed" in line for line in d.log (since=since)), what="the failed reload logged")
    #  Now: the viewer's token gone, a new one, a lower rate
    text = running.replace ("token\n    name = viewer\n", "token\n    name = old-viewer\n")
    text = text.replace ("sha256 = %s\n    symbols" % sha (VIEWER), "sha256 = %s\n    symbols" % sha (fresh))
    text = text.replace ("max_rate = 100", "max_rate = 50")
    check (text != running and sha (fresh) in text, "the new config did not change")
    with open (path, "w") as f:
        f.write (text)
    for c in clients:                       #  From here every tick must arrive, across the reload
        c.drain ()
    t0 = time.monotonic ()
    d.proc.send_signal (signal.SIGHUP)
    code, reason = await viewer.wait_closed (5)
    check (code == 4401, "the viewer was closed with %s %r" % (code, reason))
    got = await asyncio.gather (*(h.WsClient.collect (c, h.is_tick ("NIFTY-I"), 15, timeout=20)
                                  for c in clients))
    for c, ticks in zip (clients, got):
        check (c.closed_at is None and not c.task.done (), "%s was dropped by the reload" % c.name)
        h.check_contiguous (ticks, c.name)
    check (any ("gateway: reloaded tokens=3 max_rate=50" in line for line in d.log (since=t0)),
           "no reload in the log\n" + d.log_tail (8))
    c = await h.client (d.ws_uri + "?token=" + fresh, "fresh")
    reply = await c.request ({"type": "SUBSCRIBE", "symbol": "RELIANCE", "id": 1})
    check (reply.get ("code") == "NOT_ALLOWED", "the new token's symbols: %s" % short (reply))
    await c.close ()
    #  What the actors are built on is refused, and the running configuration stays
    with open (path, "w") as f:
        f.write (text.replace ("name = SIM\n", "name = SIMX\n", 1))
    since = time.monotonic ()
    d.proc.send_signal (signal.SIGHUP)
    await h.wait_http (d.url ("/ws/health"), lambda *_: any (
        "reload refused: the providers changed" in line for line in d.log (since=since)),
        what="a provider change refused")
    for c in clients:
        await c.close ()
    check (d.stop () == 0, "the reloaded daemon did not exit 0")


@tap.case ("no log line of any daemon here holds a token it was given")
def t_no_secrets_logged (ctx):
    ctx.d.stop ()
    for d in ctx.daemons:
        for _, _, line in d.lines:
            for secret in ctx.secrets:
                check (secret not in line, "%s logged a token: %s" % (d.name, line [:200]))
    shutil.rmtree (ctx.tmp, ignore_errors=True)


tap.run (setup)
