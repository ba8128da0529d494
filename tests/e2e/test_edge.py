#  test_edge - edge gateways on a core's feed, across hosts (issue 7)
#
#  The topology: one core (the providers, the pipeline, the feed), two edge gateways
#  (tickmux --role gateway --upstream) reading its feed, HAProxy in front balancing WebSocket
#  clients across the edges. Where the machine allows it (root, unshare, ip), the core and
#  each edge run in a network namespace of their own, joined by veth links to a bridge in a
#  sandbox namespace this test makes for itself first (unshare --net --mount: nothing outside
#  sees its namespaces or addresses, and all of it goes with the test's last process); HAProxy
#  and the clients run in the sandbox. Elsewhere the same topology runs on loopback ports, and
#  the test says so.

import asyncio
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
import types

sys.dont_write_bytecode = True
sys.path.insert (0, os.path.dirname (os.path.abspath (__file__)))
import tmharness as h
from tmharness import check, short

SANDBOX_ENV = "TM_EDGE_SANDBOX"
HAPROXY = shutil.which ("haproxy") or "/usr/sbin/haproxy"
TAIL_BIN = os.path.join (os.path.dirname (h.BIN), "tickmux-tail")
BRIDGE_ADDR = "10.77.0.254"
HOST_ADDR = {"core": "10.77.0.1", "edge1": "10.77.0.2", "edge2": "10.77.0.3"}


def s_run (*cmd):
    out = subprocess.run (cmd, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError ("%s: %s" % (" ".join (cmd), out.stderr.strip ()))


def s_enter_sandbox ():
    """Re-run this test inside a network and mount namespace of its own, where that works.
    Returns why not, or None when we are inside."""
    if os.environ.get (SANDBOX_ENV) == "1":
        return None
    if os.environ.get (SANDBOX_ENV) == "no":
        return "the sandbox could not be set up"
    if os.geteuid () != 0:
        return "not root"
    if not shutil.which ("unshare") or not shutil.which ("ip"):
        return "no unshare or ip (util-linux, iproute2)"
    if subprocess.run (["unshare", "--net", "--mount", "true"], capture_output=True).returncode:
        return "unshare --net --mount is not allowed here"
    os.environ [SANDBOX_ENV] = "1"
    sys.stdout.flush ()
    os.execvp ("unshare", ["unshare", "--net", "--mount", "--", sys.executable,
                           os.path.abspath (__file__)] + sys.argv [1:])


def s_build_network ():
    """Inside the sandbox: a bridge, and a namespace per host with a veth on the bridge."""
    os.makedirs ("/run/netns", exist_ok=True)
    s_run ("mount", "-t", "tmpfs", "tmpfs", "/run/netns")  #  Ours alone: a private mount ns
    s_run ("ip", "link", "set", "lo", "up")
    s_run ("ip", "link", "add", "tmbr0", "type", "bridge")
    s_run ("ip", "addr", "add", BRIDGE_ADDR + "/24", "dev", "tmbr0")
    s_run ("ip", "link", "set", "tmbr0", "up")
    for host, addr in HOST_ADDR.items ():
        s_run ("ip", "netns", "add", host)
        s_run ("ip", "link", "add", "v-" + host, "type", "veth", "peer", "name", "eth0",
               "netns", host)
        s_run ("ip", "link", "set", "v-" + host, "master", "tmbr0", "up")
        s_run ("ip", "-n", host, "link", "set", "lo", "up")
        s_run ("ip", "-n", host, "addr", "add", addr + "/24", "dev", "eth0")
        s_run ("ip", "-n", host, "link", "set", "eth0", "up")


WHY_LOOPBACK = s_enter_sandbox ()
if WHY_LOOPBACK is None:
    try:
        s_build_network ()
    except Exception as e:              #  Then the same test, on loopback, saying why
        WHY_LOOPBACK = "network namespaces failed (%s)" % e

tap = h.Tap ()


class Topology:
    """Where each host runs: its namespace (a command prefix) and its address."""

    def __init__ (self, netns):
        self.netns = netns
        if netns:
            self.feed_port, self.snapshot_port = 5556, 5557
            self.gateway_port = {"core": 8002, "edge1": 8002, "edge2": 8002}
        else:
            self.feed_port, self.snapshot_port = h.free_port (), h.free_port ()
            self.gateway_port = {host: 0 for host in HOST_ADDR}
        self.front_port = 8002 if netns else h.free_port ()

    def prefix (self, host):
        return ["ip", "netns", "exec", host] if self.netns else []

    def addr (self, host):
        return HOST_ADDR [host] if self.netns else "127.0.0.1"

    @property
    def feed (self):
        return "tcp://%s:%d" % (self.addr ("core"), self.feed_port)

    @property
    def snapshot (self):
        return "tcp://%s:%d" % (self.addr ("core"), self.snapshot_port)


def fake_time ():
    #  Every daemon on one clock: the same fake start, anchored to the same real second
    return "%s@%d" % (h.FAKE_TIME, int (time.time ()))


def core_daemon (ctx, name="core"):
    text = h.config (providers=[{"name": "SIM", "kind": "SIM", "seed": 7, "rate": 400},
                                {"name": "SIM2", "kind": "SIM", "seed": 11, "rate": 4}],
                     fake_time=ctx.fake_time, interface=ctx.topo.addr ("core"),
                     port=ctx.topo.gateway_port ["core"])
    env = {"TICKMUX_FEED_BIND": ctx.topo.feed, "TICKMUX_FEED_SNAPSHOT": ctx.topo.snapshot}
    return h.Daemon (text, name=name, env=env, port=None, prefix=ctx.topo.prefix ("core"))


def edge_daemon (ctx, host, extra=""):
    text = h.config (providers=[], fake_time=ctx.fake_time, interface=ctx.topo.addr (host),
                     port=ctx.topo.gateway_port [host])
    text += "upstream\n    feed = %s\n" % ctx.topo.feed
    if not ctx.topo.netns:              #  In namespaces the default (the feed's port + 1)
        text += "    snapshot = %s\n" % ctx.topo.snapshot
    text += extra
    return h.Daemon (text, name=host, args=["--role", "gateway"], port=None,
                     prefix=ctx.topo.prefix (host))


def haproxy_config (ctx):
    servers = "\n".join ("    server %s %s:%d check" % (edge, ctx.edges [edge].host,
                                                        ctx.edges [edge].port)
                         for edge in ("edge1", "edge2"))
    return """global
    maxconn 1000
defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    retries 3
    option redispatch
frontend clients
    bind 127.0.0.1:%d
    default_backend edges
backend edges
    balance roundrobin
    option httpchk GET /ws/health
    http-check expect status 200
    default-server inter 300ms fall 2 rise 2
%s
""" % (ctx.topo.front_port, servers)


async def start_haproxy (ctx):
    path = os.path.join (ctx.tmp, "haproxy.cfg")
    with open (path, "w") as f:
        f.write (haproxy_config (ctx))
    ctx.haproxy = h.Daemon (None, name="haproxy", binary=HAPROXY, args=["-f", path, "-db"],
                            port=None)
    await asyncio.to_thread (ctx.haproxy.start, False)
    ctx.front = "ws://127.0.0.1:%d/ws" % ctx.topo.front_port
    deadline = time.monotonic () + 10
    while True:
        try:
            _, w = await asyncio.open_connection ("127.0.0.1", ctx.topo.front_port)
            w.close ()
            return
        except OSError:
            check (ctx.haproxy.running () and time.monotonic () < deadline,
                   "HAProxy does not listen on %d\n%s" % (ctx.topo.front_port,
                                                          ctx.haproxy.log_tail ()))
            await asyncio.sleep (0.1)


async def stats (d):
    return (await h.aget_json (d.url ("/ws/stats"))) [2]


async def health (d):
    return (await h.aget_json (d.url ("/ws/health"))) [2]


async def setup (tap):
    ctx = types.SimpleNamespace ()
    ctx.topo = Topology (WHY_LOOPBACK is None)
    if WHY_LOOPBACK:
        h.diag ("network namespaces unavailable (%s): the same topology on loopback ports"
                % WHY_LOOPBACK)
    else:
        h.diag ("network namespaces: core %s, edges %s and %s, HAProxy and clients in the "
                "sandbox" % (HOST_ADDR ["core"], HOST_ADDR ["edge1"], HOST_ADDR ["edge2"]))
    ctx.tmp = tempfile.mkdtemp (prefix="tickmux-edge-")
    atexit.register (shutil.rmtree, ctx.tmp, True)
    ctx.fake_time = fake_time ()
    ctx.core = core_daemon (ctx)
    await asyncio.to_thread (ctx.core.start)
    await h.wait_serving (ctx.core)
    ctx.edges = {host: edge_daemon (ctx, host) for host in ("edge1", "edge2")}
    for d in ctx.edges.values ():
        await asyncio.to_thread (d.start)
    tap.daemons = [ctx.core] + list (ctx.edges.values ())
    for d in ctx.edges.values ():
        await h.wait_serving (d)
    await start_haproxy (ctx)
    tap.daemons.append (ctx.haproxy)
    ctx.clients = []
    return ctx


async def edge_clients (ctx):
    """{edge name: clients connected to it}, from each edge's own count."""
    out = {}
    for name, d in ctx.edges.items ():
        if d.running ():
            out [name] = (await stats (d)) ["clients"]
    return out


async def collect_ticks (c, symbol, seconds):
    ticks = []
    deadline = time.monotonic () + seconds
    while time.monotonic () < deadline:
        try:
            m = await c.expect (h.is_tick (symbol), timeout=deadline - time.monotonic ())
        except h.CaseFailure:
            break
        ticks.append (m)
    return ticks


def check_same_ticks (a, b, what):
    """Ticks of one symbol seen by two clients: every seq both saw carries the same tick."""
    by_seq = {t ["seq"]: t for t in a}
    common = [t for t in b if t ["seq"] in by_seq]
    check (len (common) >= 3, "%s: only %d ticks in common (%d and %d ticks)"
           % (what, len (common), len (a), len (b)))
    for t in common:
        u = by_seq [t ["seq"]]
        check ((t ["provider"], t ["data"]) == (u ["provider"], u ["data"]),
               "%s: seq %d differs\n    %s\n    %s" % (what, t ["seq"], short (u), short (t)))


@tap.case ("an edge refuses --role gateway without --upstream, and a role it does not know")
def t_cli (ctx):
    for args, says in ((["--role", "gateway"], "--upstream"),
                       (["--role", "edge", "--upstream", "tcp://127.0.0.1:1"], "core or gateway"),
                       (["--role", "gateway", "--upstream", "ipc:///tmp/nowhere"],
                        "upstream/snapshot")):
        rc, _, err = h.run_tickmux (args)
        check (rc == 2 and says in err, "tickmux %s: exit %s, %s" % (" ".join (args), rc, err))


@tap.case ("both edges serve the core's providers, and HAProxy balances clients across them", timeout=30)
async def t_balance (ctx):
    for d in ctx.edges.values ():
        #  Live from the core's first heartbeat on (one a second)
        await h.wait_http (d.url ("/ws/health"), lambda _, doc: doc ["upstream"]["state"] == "live",
                           what="%s: the core's feed live" % d.name)
        doc = await health (d)
        check (doc ["role"] == "gateway" and doc ["status"] == "ok"
               and doc ["upstream"]["state"] == "live", "%s: %s" % (d.name, short (doc)))
        check (sorted (p ["name"] for p in doc ["providers"]) == ["SIM", "SIM2"],
               "%s learned providers %s" % (d.name, short (doc ["providers"])))
    for i in range (4):
        c = await h.client (ctx.front, "front%d" % i, persistent=True)
        await h.subscribe (c, "NIFTY-I")
        ctx.clients.append (c)
    counts = await edge_clients (ctx)
    check (counts == {"edge1": 2, "edge2": 2}, "clients per edge: %s" % counts)


@tap.case ("clients on both edges and on the core receive the same ticks, in order", timeout=30)
async def t_same_ticks (ctx):
    check (len (ctx.clients) == 4, "%d clients from the case before" % len (ctx.clients))
    core_client = await h.client (ctx.core, "core")
    await h.subscribe (core_client, "NIFTY-I")
    for c in ctx.clients:
        c.drain ()
    got = await asyncio.gather (*(collect_ticks (c, "NIFTY-I", 3.0)
                                  for c in ctx.clients + [core_client]))
    for c, ticks in zip (ctx.clients + [core_client], got):
        check (len (ticks) >= 5, "%s: %d NIFTY-I ticks in 3 s" % (c.name, len (ticks)))
        h.check_contiguous (ticks, c.name)
    for c, ticks in zip (ctx.clients, got):
        check_same_ticks (got [-1], ticks, "core and %s" % c.name)
    await core_client.close ()


@tap.case ("an edge subscribes upstream to what its clients hold, and no more", timeout=30)
async def t_demand (ctx):
    for d in ctx.edges.values ():
        await h.wait_http (d.url ("/ws/stats"), lambda _, s: s ["upstream"]["subscriptions"] == 1,
                           what="%s: one upstream subscription (NIFTY-I)" % d.name)
    #  What flows in: NIFTY-I, the providers' status (one a second each) and the heartbeat,
    #  while the core publishes 400 ticks a second over its whole universe
    edge = ctx.edges ["edge1"]
    probe = await h.client (edge, "probe")
    await h.subscribe (probe, "NIFTY-I")
    before = (await stats (edge)) ["upstream"]["messages"]
    ticks = await collect_ticks (probe, "NIFTY-I", 4.0)
    after = (await stats (edge)) ["upstream"]["messages"]
    core_total = sum (p ["messages_in"] for p in (await stats (ctx.core)) ["providers"].values ())
    check (core_total > 1000, "the core has published only %d ticks" % core_total)
    #  The figures are a second old at most, hence the slack of two seconds of everything
    allowed = len (ticks) * 6 // 4 + 3 * 6 + 10
    check (0 < after - before <= allowed, "edge1 received %d messages while its clients got %d "
           "NIFTY-I ticks (allowed %d)" % (after - before, len (ticks), allowed))
    await h.subscribe (probe, "BANKNIFTY-I")
    await h.wait_http (edge.url ("/ws/stats"), lambda _, s: s ["upstream"]["subscriptions"] == 2,
                       what="edge1: a second upstream subscription")
    await probe.expect (h.is_tick ("BANKNIFTY-I"))
    await probe.close ()
    await h.wait_http (edge.url ("/ws/stats"), lambda _, s: s ["upstream"]["subscriptions"] == 1,
                       what="edge1: back to one upstream subscription")


@tap.case ("a symbol first asked for on an edge comes at once, from the core's snapshot", timeout=40)
async def t_snapshot (ctx):
    #  SIM2 ticks 4 times a second over 26 symbols: a quiet symbol ticks every 10 s or so
    quiet = ["ASIANPAINT", "TITAN", "SUNPHARMA", "WIPRO", "MARUTI", "HINDUNILVR"]
    core_client = await h.client (ctx.core, "core")
    await h.subscribe (core_client, symbols=quiet, provider="SIM2")
    first = await core_client.expect (h.is_tick (stream="SIM2"), timeout=30)
    symbol = first ["symbol"]
    last = max ((i.msg for i in core_client.history if i.msg and h.is_tick (symbol, "SIM2") (i.msg)),
                key=lambda m: m ["seq"])
    edge = ctx.edges ["edge2"]
    snapshots = (await stats (edge)) ["upstream"]["snapshots"]
    c = await h.client (edge, "late")
    t0 = time.monotonic ()
    await h.subscribe (c, symbol, provider="SIM2")
    got = await c.expect (h.is_tick (symbol, "SIM2"), timeout=1.0,
                          what="%s of SIM2 within 1 s" % symbol)
    check (got ["seq"] >= last ["seq"], "the edge's first %s is seq %d, the core had %d"
           % (symbol, got ["seq"], last ["seq"]))
    if got ["seq"] == last ["seq"]:
        check (got ["data"] == last ["data"], "the snapshot differs from the core's tick")
    h.diag ("%s (seq %d) reached a new edge client %.0f ms after SUBSCRIBE"
            % (symbol, got ["seq"], (time.monotonic () - t0) * 1000))
    after = await stats (edge)
    check (after ["upstream"]["snapshots"] > snapshots, "edge2 asked for no snapshot")
    await c.close ()
    await core_client.close ()


async def until_ticking (c, symbol, timeout, what):
    c.drain ()
    return await c.expect (h.is_tick (symbol), timeout=timeout, what=what)


@tap.case ("the core dies: edges report its providers DISCONNECTED, then a restarted core's ticks flow to the same clients", timeout=60)
async def t_core_restart (ctx):
    watcher = await h.client (ctx.edges ["edge1"], "watcher", persistent=True)
    await h.subscribe (watcher, channel="STATUS")
    before = {c.name: (await until_ticking (c, "NIFTY-I", 5, c.name)) ["seq"] for c in ctx.clients}
    restarts = [(await stats (d)) ["upstream"]["restarts"] for d in ctx.edges.values ()]
    ctx.core.proc.kill ()
    ctx.core.stop ()
    down = await watcher.expect (lambda m: m.get ("type") == "PROVIDER_STATUS"
                                 and m ["state"] == "DISCONNECTED"
                                 and m ["reason"] == "core feed silent", timeout=8,
                                 what="PROVIDER_STATUS DISCONNECTED (core feed silent)")
    h.diag ("edge1 reported %s DISCONNECTED" % down ["provider"])
    doc = await health (ctx.edges ["edge1"])
    check (doc ["status"] == "down" and doc ["upstream"]["state"] == "silent",
           "edge1 health with the core gone: %s" % short (doc))
    ctx.core = core_daemon (ctx, "core-again")
    await asyncio.to_thread (ctx.core.start)
    tap.daemons [0] = ctx.core
    #  The same clients, no new SUBSCRIBE: the new core's ticks (its seq starts again)
    for c in ctx.clients:
        m = await until_ticking (c, "NIFTY-I", 10, "%s: NIFTY-I from the restarted core" % c.name)
        while m ["seq"] > before [c.name]:
            m = await c.expect (h.is_tick ("NIFTY-I"), timeout=10)
    #  Ticks may come before the new core's next heartbeat (its first went before the edges
    #  had reconnected), which is what tells an edge the core is back
    for d, n in zip (ctx.edges.values (), restarts):
        await h.wait_http (d.url ("/ws/stats"), lambda _, s, n=n: s ["upstream"]["restarts"] > n
                           and s ["upstream"]["state"] == "live", timeout=5,
                           what="%s: the core back, snapshotted again" % d.name)
    await watcher.expect (lambda m: m.get ("type") == "PROVIDER_STATUS"
                          and m ["state"] == "CONNECTED", timeout=8,
                          what="PROVIDER_STATUS CONNECTED again")
    await watcher.close ()


@tap.case ("a core restarted within the heartbeat timeout is noticed by its heartbeat seq", timeout=40)
async def t_quick_restart (ctx):
    edge = ctx.edges ["edge2"]
    restarts = (await stats (edge)) ["upstream"]["restarts"]
    since = time.monotonic ()
    ctx.core.proc.kill ()               #  At once: the new core must beat within 3 s
    ctx.core.stop ()
    ctx.core = core_daemon (ctx, "core-third")
    await asyncio.to_thread (ctx.core.start)
    tap.daemons [0] = ctx.core
    await h.wait_http (edge.url ("/ws/stats"), lambda _, s: s ["upstream"]["restarts"] > restarts,
                       timeout=10, what="edge2 noticing the restart")
    check (any ("the core restarted" in line for line in edge.log (since=since))
           and not any ("is silent" in line for line in edge.log (since=since)),
           "edge2 did not notice the restart by the heartbeat's seq:\n" + edge.log_tail (10))
    for c in ctx.clients:
        await until_ticking (c, "NIFTY-I", 10, "%s: ticks after the quick restart" % c.name)


@tap.case ("an edge killed: its clients reconnect through HAProxy to the other edge and resubscribe", timeout=40)
async def t_edge_killed (ctx):
    victim = ctx.edges ["edge1"]
    victim.proc.kill ()
    victim.stop ()
    deadline = time.monotonic () + 5
    while True:
        orphans = [c for c in ctx.clients if c.task.done ()]
        if len (orphans) >= 2 or time.monotonic () > deadline:
            break
        await asyncio.sleep (0.05)
    check (len (orphans) == 2, "%d clients lost their edge (expected 2)" % len (orphans))
    for c in orphans:
        ctx.clients.remove (c)
        deadline = time.monotonic () + 10
        while True:                         #  What a dashboard does: reconnect, resubscribe
            try:
                again = await h.client (ctx.front, c.name + "-again", persistent=True)
                await h.subscribe (again, "NIFTY-I")
                break
            except Exception as e:
                check (time.monotonic () < deadline, "%s cannot reconnect: %s" % (c.name, e))
                await asyncio.sleep (0.2)
        ctx.clients.append (again)
    counts = await edge_clients (ctx)
    check (counts == {"edge2": 4}, "clients per edge: %s" % counts)
    got = await asyncio.gather (*(collect_ticks (c, "NIFTY-I", 2.0) for c in ctx.clients))
    for c, ticks in zip (ctx.clients, got):
        h.check_contiguous (ticks, c.name)
    check_same_ticks (got [0], got [-1], "%s and %s" % (ctx.clients [0].name, ctx.clients [-1].name))


def make_cert (path):
    out = subprocess.run ([TAIL_BIN, "--make-cert", path], capture_output=True, text=True,
                          timeout=10)
    check (out.returncode == 0, "tickmux-tail --make-cert: %s" % out.stderr)


@tap.case ("CURVE: an edge with an allowed key reads a CURVE core; one with a wrong key gets nothing", timeout=40)
async def t_curve (ctx):
    keys = os.path.join (ctx.tmp, "keys")
    allowed = os.path.join (keys, "allowed")
    os.makedirs (allowed)
    make_cert (os.path.join (keys, "server"))
    make_cert (os.path.join (keys, "edge"))
    make_cert (os.path.join (keys, "stranger"))
    shutil.copy (os.path.join (keys, "edge"), allowed)
    feed, snapshot = "tcp://127.0.0.1:%d" % h.free_port (), "tcp://127.0.0.1:%d" % h.free_port ()
    text = h.config (fake_time=ctx.fake_time)
    text += "feed\n    curve_cert = %s\n    curve_clients = %s\n" % (os.path.join (keys, "server"),
                                                                   allowed)
    core = h.Daemon (text, name="curve-core", env={"TICKMUX_FEED_BIND": feed,
                                                   "TICKMUX_FEED_SNAPSHOT": snapshot})
    await asyncio.to_thread (core.start)

    def edge (name, cert):
        text = h.config (providers=[], fake_time=ctx.fake_time)
        text += ("upstream\n    feed = %s\n    snapshot = %s\n    curve_cert = %s\n"
                 "    curve_server = %s\n" % (feed, snapshot, os.path.join (keys, cert),
                                              os.path.join (keys, "server")))
        return h.Daemon (text, name=name, args=["--role", "gateway"])
    good, bad = edge ("curve-edge", "edge"), edge ("stranger-edge", "stranger")
    try:
        await asyncio.to_thread (good.start)
        c = await h.client (good, "curve")
        await h.subscribe (c, "NIFTY-I")
        await c.expect (h.is_tick ("NIFTY-I"), what="a tick through the CURVE core")
        await c.close ()
        await asyncio.to_thread (bad.start, False)
        deadline = time.monotonic () + 5
        while not any ("waiting for the core's snapshot" in line for line in bad.log ()):
            check (time.monotonic () < deadline and bad.running (),
                   "the stranger edge did not say it waits\n" + bad.log_tail (10))
            await asyncio.sleep (0.1)
        check (bad.port is None, "the stranger edge listens on %s" % bad.port)
    finally:
        bad.stop ()
        good.stop ()
        core.stop ()


tap.run (setup)
