#  tmharness - what every tickmux end-to-end test shares
#
#  - Daemon: starts the real tickmux with a config text (in a temp dir that also holds the
#    state directory), waits for its "gateway listening" line against a deadline, keeps its
#    stdout and stderr for failure reports, and always stops it (SIGTERM, then SIGKILL).
#  - WsClient: a WebSocket client whose every received message is checked against
#    schemas/client-out.schema.json (a message that fails it fails the case), with helpers
#    that wait for a message matching a predicate against a deadline. Nothing here sleeps to
#    let things settle: every wait is for an event, bounded by a deadline.
#  - Tap: registers cases and prints TAP for automake's tap-driver; a failing or hanging case
#    does not stop the others, and each case has its own timeout.
#
#  Environment: TICKMUX_BIN (the daemon, default <srcdir>/tickmux), TICKMUX_SRCDIR (the
#  source tree, default two levels above this file).

import asyncio
import atexit
import concurrent.futures
import http.client
import inspect
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

import jsonschema
import websockets

HERE = os.path.dirname (os.path.abspath (__file__))
SRCDIR = os.environ.get ("TICKMUX_SRCDIR") or os.path.abspath (os.path.join (HERE, "..", ".."))
BIN = os.environ.get ("TICKMUX_BIN") or os.path.join (SRCDIR, "tickmux")
SCHEMA_DIR = os.path.join (SRCDIR, "schemas")

FAKE_TIME = "2026-01-05T09:15:00+05:30"
FAKE_TIME_NS = 1767584700 * 10 ** 9         #  The same instant, ns since the epoch UTC
STATE_DIR = "@STATE_DIR@"                   #  Replaced by Daemon with a fresh temp dir

LISTEN_RE = re.compile (r"tickmux: gateway listening on wss?://([0-9.]+):(\d+)/ws")
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0

#  Symbols the README promises in the simulated market
SIM_SYMBOLS = ["NIFTY-I", "BANKNIFTY-I", "NIFTY 50", "NIFTY BANK", "RELIANCE"]

#  Types tickmux pushes without being asked; everything else is a reply to a request
PUSH_TYPES = ("MARKET_DATA", "PROVIDER_STATUS", "OPTION_CHAIN_UPDATE", "FAILOVER", "GAP",
              "ANALYTICS")


class CaseFailure (AssertionError):
    pass


class Skip (Exception):
    pass


def fail (message):
    raise CaseFailure (message)


def check (condition, message):
    if not condition:
        raise CaseFailure (message)


def short (obj, limit=400):
    if isinstance (obj, str):
        text = obj
    elif isinstance (obj, (bytes, bytearray)):
        text = repr (bytes (obj))
    else:
        text = json.dumps (obj, sort_keys=True, default=repr)
    return text if len (text) <= limit else text [:limit] + "...(%d bytes)" % len (text)


# ----------------------------------------------------------------------------------------
#  Schemas

_schemas = {}


def schema (name):
    """The parsed schemas/<name>.schema.json."""
    if name not in _schemas:
        with open (os.path.join (SCHEMA_DIR, name + ".schema.json")) as f:
            _schemas [name] = json.load (f)
    return _schemas [name]


_validators = {}


def validator (name, ref=None):
    """A validator for a schema, or for one of its $defs (ref) with the same $defs."""
    key = (name, ref)
    if key not in _validators:
        root = schema (name)
        if ref:
            sub = {"$schema": root ["$schema"], "$defs": root ["$defs"],
                   "$ref": "#/$defs/" + ref}
        else:
            sub = root
        cls = jsonschema.validators.validator_for (root)
        _validators [key] = cls (sub)
    return _validators [key]


def schema_errors (name, instance, ref=None):
    """'' when instance is valid, else a short description of what is wrong."""
    errors = sorted (validator (name, ref).iter_errors (instance),
                     key=lambda e: list (e.absolute_path))
    if not errors:
        return ""
    return "; ".join ("%s: %s" % ("/".join (str (p) for p in e.absolute_path) or "(root)",
                                  e.message [:300]) for e in errors [:5])


_OUT_DEFS = {"SUBSCRIBED": "subscribed", "UNSUBSCRIBED": "unsubscribed",
             "MARKET_DATA": "market_data", "PROVIDER_STATUS": "provider_status",
             "PONG": "pong", "ERROR": "error", "OPTION_CHAIN": "option_chain",
             "OPTION_CHAIN_UPDATE": "option_chain_update", "FAILOVER": "failover", "GAP": "gap",
             "ANALYTICS": "analytics"}


def out_errors (msg):
    """'' when msg is a valid client-out message, else why not (from its type's branch)."""
    #  With a known type, the whole schema's oneOf holds exactly when that type's branch does
    #  (every other branch fails on its "type" const), so check only the branch: it is six
    #  times faster and names the real problem. test_schemas checks that the two agree.
    ref = _OUT_DEFS.get (msg.get ("type")) if isinstance (msg, dict) else None
    if ref:
        return schema_errors ("client-out", msg, ref)
    return schema_errors ("client-out", msg)


# ----------------------------------------------------------------------------------------
#  Config

def _zpl_value (value):
    text = str (value)
    if re.fullmatch (r"[A-Za-z0-9_./-]+", text):
        return text
    check ('"' not in text, "ZPL value with a double quote: %r" % text)
    return '"%s"' % text


def config (providers=None, routes=(), max_subscriptions=None, fake_time=FAKE_TIME,
            port=0, gateway_extra=None, state_dir=STATE_DIR, interface="127.0.0.1"):
    """ZPL text for a daemon. providers: dicts with name, kind, seed, rate, symbols,
    connect_delay (all but kind optional); default one SIM seed 7 rate 500. routes: (symbol, "P1,P2") pairs."""
    if providers is None:
        providers = [{"name": "SIM", "kind": "SIM", "seed": 7, "rate": 500}]
    lines = ["tickmux"]
    if state_dir is not None:
        lines.append ("    state_dir = " + _zpl_value (state_dir))
    if fake_time is not None:
        lines.append ("    fake_time = " + _zpl_value (fake_time))
    lines.append ("gateway")
    if port is not None:
        lines.append ("    port = %s" % port)
    lines.append ("    interface = " + _zpl_value (interface))
    if max_subscriptions is not None:
        lines.append ("    max_subscriptions = %d" % max_subscriptions)
    for key, value in (gateway_extra or {}).items ():
        lines.append ("    %s = %s" % (key, _zpl_value (value)))
    for p in providers:
        lines.append ("provider")
        for key in ("name", "kind", "seed", "rate", "symbols", "connect_delay", "exchange_delay",
                    "bad_share"):
            if key in p:
                lines.append ("    %s = %s" % (key, _zpl_value (p [key])))
    for symbol, order in routes:
        lines.append ("route")
        lines.append ("    symbol = " + _zpl_value (symbol))
        lines.append ("    providers = " + _zpl_value (order))
    return "\n".join (lines) + "\n"


def free_port ():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket () as s:
        s.bind (("127.0.0.1", 0))
        return s.getsockname () [1]


# ----------------------------------------------------------------------------------------
#  Daemon

_daemons = []


def _kill_all ():
    for d in list (_daemons):
        try:
            d.kill ()
        except Exception:
            pass


atexit.register (_kill_all)
#  Turn SIGTERM (make check's timeout, a user) into an exit, so atexit stops the daemons
if threading.current_thread () is threading.main_thread ():
    signal.signal (signal.SIGTERM, lambda *_: sys.exit (143))


class DaemonError (CaseFailure):
    pass


class Daemon:
    """One tickmux process. config: ZPL text (STATE_DIR is replaced by a temp dir), or None
    for no --config. port: the --port argument (None: no --port)."""

    def __init__ (self, config_text=None, name="tickmux", args=(), env=None, port="0",
                  binary=None, listen_re=None, prefix=()):
        self.binary = binary or BIN
        self.prefix = list (prefix)         #  Runs the command: ["ip", "netns", "exec", NS]
        self.host = "127.0.0.1"             #  Where it listens, from its listening line
        self.listen_re = listen_re or LISTEN_RE
        self.config_text = config_text
        self.name = name
        self.args = list (args)
        self.env = dict (env or {})
        self.port_arg = port
        self.proc = None
        self.port = None
        self.lines = []                     #  (monotonic time, "err"|"out", text)
        self.cond = threading.Condition ()
        self.tmp = None
        self.started_at = None              #  time.monotonic () at spawn
        self.started_wall_ns = None         #  time.time_ns () at spawn
        self.returncode = None
        self.stop_seconds = None

    #  Spawn, and (wait) block until the listening line, or raise DaemonError
    def start (self, wait=True, timeout=START_TIMEOUT):
        if not os.access (self.binary, os.X_OK):
            raise DaemonError ("no executable %s (set TICKMUX_BIN / TICKMUX_SIM_BIN)" % self.binary)
        self.tmp = tempfile.mkdtemp (prefix="tickmux-e2e-")
        cmd = self.prefix + [self.binary]
        if self.config_text is not None:
            path = os.path.join (self.tmp, "tickmux.cfg")
            with open (path, "w") as f:
                f.write (self.config_text.replace (STATE_DIR, os.path.join (self.tmp, "state")))
            cmd += ["--config", path]
        if self.port_arg is not None:
            cmd += ["--port", str (self.port_arg)]
        cmd += self.args
        env = {k: v for k, v in os.environ.items ()
               if not k.startswith (("TICKMUX_", "ZERODHA_", "TRUEDATA_", "N8N_"))
               and k != "STATE_DIRECTORY"}
        #  The feed on ports of its own, so daemons (and two runs) never collide on 5556
        if self.binary == BIN:
            env.update (_FEED_ENV)
        #  Keep the sanitizer options make check sets
        env.update (self.env)
        self.cmd = cmd
        self.started_at = time.monotonic ()
        self.started_wall_ns = time.time_ns ()
        self.proc = subprocess.Popen (cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, env=env, cwd=self.tmp)
        _daemons.append (self)
        self.pumps = [threading.Thread (target=self._pump, args=(stream, tag), daemon=True)
                      for stream, tag in ((self.proc.stdout, "out"), (self.proc.stderr, "err"))]
        for t in self.pumps:
            t.start ()
        if wait:
            self.wait_listening (timeout)
        return self

    def _pump (self, stream, tag):
        for raw in iter (stream.readline, b""):
            text = raw.decode ("utf-8", "replace").rstrip ("\n")
            with self.cond:
                self.lines.append ((time.monotonic (), tag, text))
                if self.port is None and tag == "err":
                    m = self.listen_re.search (text)
                    if m:
                        if m.group (1) not in ("0.0.0.0", "::"):
                            self.host = m.group (1)
                        self.port = int (m.group (2))
                self.cond.notify_all ()
        stream.close ()
        with self.cond:
            self.cond.notify_all ()

    def wait_listening (self, timeout=START_TIMEOUT):
        deadline = time.monotonic () + timeout
        with self.cond:
            while self.port is None:
                if self.proc.poll () is not None:
                    self.returncode = self.proc.returncode
                    self.cond.release ()
                    try:
                        for t in self.pumps:         #  The last lines say why it exited
                            t.join (2)
                    finally:
                        self.cond.acquire ()
                    raise DaemonError ("%s exited with %s before listening\n%s"
                                       % (self.name, self.proc.returncode, self.log_tail ()))
                left = deadline - time.monotonic ()
                if left <= 0:
                    raise DaemonError ("%s: no 'gateway listening' line within %.0f s\n%s"
                                       % (self.name, timeout, self.log_tail ()))
                self.cond.wait (min (left, 0.1))
        return self.port

    #  Wait for the process to exit by itself. Returns the exit code, or None on timeout.
    def wait_exit (self, timeout):
        try:
            self.returncode = self.proc.wait (timeout)
            return self.returncode
        except subprocess.TimeoutExpired:
            return None

    #  SIGTERM, wait up to timeout, then SIGKILL. Returns the exit code (negative: signal).
    def stop (self, timeout=STOP_TIMEOUT):
        if self.proc is None:
            return None
        if self.proc.poll () is None:
            t0 = time.monotonic ()
            self.proc.send_signal (signal.SIGTERM)
            try:
                self.proc.wait (timeout)
                self.stop_seconds = time.monotonic () - t0
            except subprocess.TimeoutExpired:
                self.proc.kill ()
                self.proc.wait ()
                self.stop_seconds = None
        self.returncode = self.proc.returncode
        self._cleanup ()
        return self.returncode

    def kill (self):
        if self.proc is not None and self.proc.poll () is None:
            self.proc.send_signal (signal.SIGTERM)
            try:
                self.proc.wait (STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill ()
                self.proc.wait ()
        self._cleanup ()

    def _cleanup (self):
        if self in _daemons:
            _daemons.remove (self)
        if self.tmp:
            shutil.rmtree (self.tmp, ignore_errors=True)
            self.tmp = None

    def running (self):
        return self.proc is not None and self.proc.poll () is None

    def log (self, since=None, tag=None):
        with self.cond:
            return [text for (t, tg, text) in self.lines
                    if (since is None or t >= since) and (tag is None or tg == tag)]

    def log_tail (self, n=40, since=None):
        lines = self.log (since)
        head = "--- %s log (%s)" % (self.name, " ".join (getattr (self, "cmd", [BIN])))
        if len (lines) > n:
            lines = ["... %d lines before" % (len (lines) - n)] + lines [-n:]
        if not lines:
            lines = ["(no output%s)" % (" during the case" if since else "")]
        return "\n".join ([head] + lines)

    @property
    def ws_uri (self):
        return "ws://%s:%d/ws" % (self.host, self.port)

    def url (self, path):
        return "http://%s:%d%s" % (self.host, self.port, path)

    def feed_endpoints (self):
        """(feed, snapshot) endpoints from the daemon's "tickmux: feed on ..." line."""
        with self.cond:
            for _, tag, text in self.lines:
                m = re.search (r"tickmux: feed on (\S+) snapshot (\S+)", text)
                if m:
                    return m.group (1), m.group (2)
        fail ("%s logged no feed endpoints" % self.name)

    def __enter__ (self):
        return self.start ()

    def __exit__ (self, *exc):
        self.stop ()


SIM_BIN = os.environ.get ("TICKMUX_SIM_BIN") or os.path.join (os.path.dirname (BIN), "tickmux-sim")


class Sim (Daemon):
    """A provider simulator (tickmux-sim KIND ...): started, stopped and logged like the daemon;
    .port is its port, .url (path) its HTTP URL, .ws its ticker URL."""

    def __init__ (self, kind, args=(), name=None, env=None):
        super ().__init__ (None, name=name or ("sim-" + kind), args=[kind, "--port", "0"] + list (args),
                           env=env, port=None, binary=SIM_BIN,
                           listen_re=re.compile (r"tickmux-sim: %s listening on http://(127\.0\.0\.1):(\d+)"
                                                 % kind))

    @property
    def ws (self):
        return "ws://127.0.0.1:%d" % self.port


_FEED_ENV = {"TICKMUX_FEED_BIND": "tcp://127.0.0.1:*", "TICKMUX_FEED_SNAPSHOT": "tcp://127.0.0.1:*"}


def run_tickmux (args, timeout=10.0, env=None, config_text=None):
    """Run tickmux to completion (for --version, --help, bad configs). Returns
    (returncode or None on timeout, stdout, stderr). config_text: written to a temp file whose
    path replaces '@CONFIG@' in args."""
    tmp = tempfile.mkdtemp (prefix="tickmux-e2e-")
    try:
        if config_text is not None:
            path = os.path.join (tmp, "tickmux.cfg")
            with open (path, "w") as f:
                f.write (config_text.replace (STATE_DIR, os.path.join (tmp, "state")))
            args = [path if a == "@CONFIG@" else a for a in args]
        full_env = {k: v for k, v in os.environ.items ()
                    if not k.startswith (("TICKMUX_", "ZERODHA_", "TRUEDATA_", "N8N_"))}
        full_env.update (_FEED_ENV)
        full_env.update (env or {})
        proc = subprocess.Popen ([BIN] + list (args), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env,
                                 cwd=tmp)
        try:
            out, err = proc.communicate (timeout=timeout)
            return proc.returncode, out.decode ("utf-8", "replace"), err.decode ("utf-8", "replace")
        except subprocess.TimeoutExpired:
            proc.kill ()
            out, err = proc.communicate ()
            return None, out.decode ("utf-8", "replace"), err.decode ("utf-8", "replace")
    finally:
        shutil.rmtree (tmp, ignore_errors=True)


# ----------------------------------------------------------------------------------------
#  HTTP

def http_get (url, timeout=5.0):
    """GET with http.client. Returns (status, content-type, body text)."""
    m = re.match (r"http://([^:/]+):(\d+)(/.*)", url)
    conn = http.client.HTTPConnection (m.group (1), int (m.group (2)), timeout=timeout)
    try:
        conn.request ("GET", m.group (3))
        resp = conn.getresponse ()
        body = resp.read ().decode ("utf-8", "replace")
        return resp.status, resp.getheader ("Content-Type", ""), body
    finally:
        conn.close ()


def urllib_get (url, timeout=5.0):
    """GET with urllib. Returns (status, content-type, body text); 4xx/5xx are answers too."""
    try:
        with urllib.request.urlopen (url, timeout=timeout) as resp:
            return (resp.status, resp.headers.get ("Content-Type", ""),
                    resp.read ().decode ("utf-8", "replace"))
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get ("Content-Type", ""), e.read ().decode ("utf-8", "replace")


def curl_get (url, timeout=5.0):
    """GET with curl. Returns (status, content-type, body text)."""
    marker = "\n@@TMCURL@@"
    proc = subprocess.run (["curl", "-sS", "--max-time", str (timeout), "-o", "-",
                            "-w", marker + "%{http_code} %{content_type}", url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout + 5)
    out = proc.stdout.decode ("utf-8", "replace")
    check (proc.returncode == 0 and marker in out,
           "curl %s failed (rc %d): %s" % (url, proc.returncode,
                                            proc.stderr.decode ("utf-8", "replace")))
    body, _, tail = out.rpartition (marker)
    code, _, ctype = tail.partition (" ")
    return int (code), ctype, body


def get_json (url, getter=http_get, timeout=5.0):
    status, ctype, body = getter (url, timeout)
    try:
        doc = json.loads (body)
    except ValueError as e:
        fail ("GET %s: %d, body is not JSON (%s): %r" % (url, status, e, body [:300]))
    return status, ctype, doc


async def aget_json (url, getter=http_get, timeout=5.0):
    return await asyncio.to_thread (get_json, url, getter, timeout)


async def wait_http (url, pred, timeout=5.0, what="an HTTP answer", getter=http_get):
    """Poll url until pred(status, doc) holds, against a deadline. Returns (status, doc)."""
    deadline = time.monotonic () + timeout
    last = None
    while True:
        try:
            status, ctype, body = await asyncio.to_thread (getter, url, 2.0)
            try:
                doc = json.loads (body)
            except ValueError:
                doc = body
            last = (status, doc)
            if pred (status, doc):
                return status, doc
        except (OSError, http.client.HTTPException) as e:
            last = repr (e)
        if time.monotonic () >= deadline:
            fail ("timeout (%.1f s) waiting for %s at %s; last: %s"
                  % (timeout, what, url, short (str (last))))
        #  Polling interval (not a settle delay): the deadline above bounds the wait
        await asyncio.sleep (0.05)


async def wait_serving (daemon, timeout=8.0):
    """Wait until /ws/health says 200 (a provider is CONNECTED)."""
    return await wait_http (daemon.url ("/ws/health"), lambda s, d: s == 200, timeout,
                            "GET /ws/health 200")


# ----------------------------------------------------------------------------------------
#  WebSocket client

class Closed (CaseFailure):
    pass


class Received:
    __slots__ = ("t", "msg", "raw", "error")

    def __init__ (self, t, msg, raw, error):
        self.t = t              #  time.monotonic () of arrival
        self.msg = msg          #  Parsed JSON, or None
        self.raw = raw          #  The frame as received
        self.error = error      #  '' or why the frame is not a valid client-out message


_CLOSED = object ()
_clients = []                   #  Clients of the running case (closed when it ends)
_persistent = []                #  Clients that live across cases (checked after each)


class WsClient:
    def __init__ (self, uri, name="client", persistent=False, compression="deflate"):
        self.uri = uri
        self.name = name
        self.ws = None
        self.queue = asyncio.Queue ()
        self.history = []               #  Every Received, in order
        self.errors = []                #  Schema failures not yet reported
        self.reported = 0
        self.task = None
        self.closed_at = None
        self.compression = compression
        self.next_id = 1
        (_persistent if persistent else _clients).append (self)

    async def connect (self, timeout=5.0):
        self.ws = await asyncio.wait_for (
            websockets.connect (self.uri, max_size=None, max_queue=None, ping_interval=None,
                                close_timeout=2, compression=self.compression), timeout)
        self.task = asyncio.ensure_future (self._reader ())
        return self

    async def _reader (self):
        try:
            async for raw in self.ws:
                t = time.monotonic ()
                msg, error = None, ""
                if isinstance (raw, bytes):
                    error = "binary frame from tickmux (%d bytes)" % len (raw)
                else:
                    try:
                        msg = json.loads (raw)
                    except ValueError as e:
                        error = "not JSON (%s)" % e
                    else:
                        error = out_errors (msg)
                if error:
                    error = "%s: invalid message from tickmux: %s\n    %s" % (
                        self.name, error, short (raw if isinstance (raw, str) else repr (raw)))
                    self.errors.append (error)
                item = Received (t, msg, raw, error)
                self.history.append (item)
                self.queue.put_nowait (item)
        except websockets.ConnectionClosed:
            pass
        except Exception as e:            #  pragma: no cover - reported, not raised
            self.errors.append ("%s: reader failed: %r" % (self.name, e))
        finally:
            self.closed_at = time.monotonic ()
            self.queue.put_nowait (_CLOSED)

    def new_id (self):
        self.next_id += 1
        return "%s-%d" % (self.name, self.next_id)

    async def send (self, message):
        """dict/list: JSON; str: a text frame as is; bytes: a binary frame."""
        if isinstance (message, (dict, list)):
            message = json.dumps (message)
        await self.ws.send (message)

    async def recv_item (self, timeout):
        try:
            item = await asyncio.wait_for (self.queue.get (), max (timeout, 0))
        except asyncio.TimeoutError:
            return None
        if item is _CLOSED:
            self.queue.put_nowait (_CLOSED)     #  Stays closed for later calls
            raise Closed ("%s: connection closed (code %s %r)" % (
                self.name, self.ws.close_code, self.ws.close_reason))
        return item

    async def recv (self, timeout=5.0):
        """The next message (validated), or CaseFailure on timeout, close or schema error."""
        item = await self.recv_item (timeout)
        if item is None:
            fail ("%s: no message within %.1f s" % (self.name, timeout))
        if item.error:
            self.reported += 1
            fail (item.error)
        return item.msg

    async def expect (self, pred, timeout=5.0, what="a matching message", skip=None):
        """Read until pred(msg); return that message. Messages before it are dropped, unless
        skip is given and a message matches neither: then it fails."""
        deadline = time.monotonic () + timeout
        seen = []
        while True:
            left = deadline - time.monotonic ()
            item = await self.recv_item (left)
            if item is None:
                fail ("%s: timeout (%.1f s) waiting for %s; %d messages before, last: %s"
                      % (self.name, timeout, what, len (seen),
                         " | ".join (short (m, 200) for m in seen [-3:])))
            if item.error:
                self.reported += 1
                fail (item.error)
            msg = item.msg
            if pred (msg):
                return msg
            if skip is not None and not skip (msg):
                fail ("%s: while waiting for %s, unexpected: %s" % (self.name, what, short (msg)))
            seen.append (msg)

    async def expect_type (self, type_, timeout=5.0, **fields):
        """The next message of a type (pushed ticks and status skipped) with these fields."""
        def pred (m):
            return m.get ("type") == type_ and all (m.get (k) == v for k, v in fields.items ())
        return await self.expect (pred, timeout, "%s %s" % (type_, fields or ""))

    async def reply (self, timeout=5.0):
        """The next message that is not pushed (MARKET_DATA, PROVIDER_STATUS)."""
        return await self.expect (lambda m: m.get ("type") not in PUSH_TYPES, timeout,
                                  "a reply")

    async def request (self, message, timeout=5.0):
        await self.send (message)
        return await self.reply (timeout)

    async def collect (self, pred, count, timeout=5.0, what="messages"):
        """count messages matching pred, in order (others dropped)."""
        deadline = time.monotonic () + timeout
        got = []
        while len (got) < count:
            left = deadline - time.monotonic ()
            try:
                got.append (await self.expect (pred, left, what))
            except CaseFailure as e:
                if isinstance (e, Closed):
                    raise
                fail ("%s: only %d of %d %s within %.1f s (%s)"
                      % (self.name, len (got), count, what, timeout, e))
        return got

    async def during (self, seconds):
        """Every message that arrives within the next seconds (an observation window)."""
        deadline = time.monotonic () + seconds
        got = []
        while True:
            item = await self.recv_item (deadline - time.monotonic ())
            if item is None:
                return got
            if item.error:
                self.reported += 1
                fail (item.error)
            got.append (item.msg)

    def drain (self):
        """Drop what has been received and not read yet (after checking it)."""
        while not self.queue.empty ():
            item = self.queue.get_nowait ()
            if item is _CLOSED:
                self.queue.put_nowait (_CLOSED)
                return
            if item.error:
                self.reported += 1
                fail (item.error)

    async def ping (self, timeout=5.0):
        """PING with a fresh id; return the replies that came before the PONG (normally
        none, so this also proves nothing was answered twice)."""
        pid = self.new_id ()
        await self.send ({"type": "PING", "id": pid})
        before = []
        deadline = time.monotonic () + timeout
        while True:
            msg = await self.expect (lambda m: m.get ("type") not in PUSH_TYPES,
                                     deadline - time.monotonic (), "PONG id %s" % pid)
            if msg.get ("type") == "PONG" and msg.get ("id") == pid:
                return before
            before.append (msg)

    async def wait_closed (self, timeout=5.0):
        """Wait for the connection to close; returns (code, reason)."""
        try:
            await asyncio.wait_for (asyncio.shield (self.task), timeout)
        except asyncio.TimeoutError:
            fail ("%s: still open after %.1f s" % (self.name, timeout))
        return self.ws.close_code, self.ws.close_reason

    async def close (self):
        if self.ws is not None:
            try:
                await asyncio.wait_for (self.ws.close (), 3)
            except Exception:
                pass
        if self.task is not None and not self.task.done ():
            try:
                await asyncio.wait_for (self.task, 3)
            except (Exception, asyncio.CancelledError):
                #  wait_for cancels a reader still busy after 3 s; a second close () of the
                #  same client must not trip over that cancellation
                pass

    def unreported_errors (self):
        """Schema failures among messages the case never read (or skipped over)."""
        bad = [r.error for r in self.history if r.error]
        new = bad [self.reported:]
        self.reported = len (bad)
        return new


async def client (daemon_or_uri, name="client", persistent=False, **kw):
    uri = daemon_or_uri if isinstance (daemon_or_uri, str) else daemon_or_uri.ws_uri
    return await WsClient (uri, name, persistent, **kw).connect ()


async def subscribe (c, symbol=None, provider=None, symbols=None, channel=None, timeout=5.0):
    """SUBSCRIBE and return the SUBSCRIBED reply (fails on anything else)."""
    req = {"type": "SUBSCRIBE", "id": c.new_id ()}
    if symbol is not None:
        req ["symbol"] = symbol
    if symbols is not None:
        req ["symbols"] = symbols
    if channel is not None:
        req ["channel"] = channel
    if provider is not None:
        req ["provider"] = provider
    reply = await c.request (req, timeout)
    check (reply.get ("type") == "SUBSCRIBED" and reply.get ("id") == req ["id"],
           "%s: %s answered %s" % (c.name, short (req), short (reply)))
    return reply


def is_tick (symbol=None, stream=None):
    def pred (m):
        return (m.get ("type") == "MARKET_DATA"
                and (symbol is None or m.get ("symbol") == symbol)
                and (stream is None or m.get ("stream") == stream))
    return pred


def check_contiguous (ticks, what):
    """seq strictly +1 from each tick to the next."""
    for a, b in zip (ticks, ticks [1:]):
        check (b ["seq"] == a ["seq"] + 1,
               "%s: seq %d then %d (expected %d)" % (what, a ["seq"], b ["seq"], a ["seq"] + 1))


# ----------------------------------------------------------------------------------------
#  Option chains (issue 4), the same round trip through every provider that lists options

def chain_expiry (symbols, root):
    """The expiry (YYYY-MM-DD) of the first option of root among canonical symbols."""
    for name in symbols:
        m = re.fullmatch (re.escape (root) + r"(\d\d)(\d\d)(\d\d)\d+(?:\.\d+)?(CE|PE)", name)
        if m:
            return "20%s-%s-%s" % m.group (1, 2, 3)
    fail ("no %s option among %d symbols" % (root, len (symbols)))


def chain_leg_name (root, expiry, strike, kind):
    strike_text = ("%.4f" % strike).rstrip ("0").rstrip (".")
    return "%s%s%s%s" % (root, expiry [2:].replace ("-", ""), strike_text, kind)


async def option_chain_round_trip (d, provider, root, step, expiry, upstream, sim_price,
                                   strikes=6):
    """GET_OPTION_CHAIN on provider: the snapshot around the money with every leg priced, the
    1 + 2 x strikes symbols upstream, updates of CE, PE and the underlying whose values are the
    provider's (sim_price (MARKET_DATA) gives the sim's last price of that tick's instrument),
    a second client sharing the chain, UNSUBSCRIBE, and the upstream symbols released when the
    last holder goes. upstream () counts the symbols the sim has subscribed."""
    base = await upstream ()
    c1 = await client (d, "chain-1")
    await c1.send ({"type": "GET_OPTION_CHAIN", "id": "oc1", "symbol": root, "expiry": expiry,
                    "strikes": strikes, "provider": provider})
    snap = await c1.expect (lambda m: m.get ("type") == "OPTION_CHAIN", 15, "OPTION_CHAIN")
    check (snap ["id"] == "oc1" and snap ["provider"] == provider and snap ["symbol"] == root
           and snap ["expiry"] == expiry and snap ["strike_step"] == step,
           "snapshot header: %s" % short (snap))
    rows = snap ["strikes"]
    atm = snap ["atm_strike"]
    check (len (rows) == strikes, "%d strikes, asked %d" % (len (rows), strikes))
    check (atm % step == 0 and rows [strikes // 2] ["strike"] == atm, "ATM %s in %s"
           % (atm, [r ["strike"] for r in rows]))
    check (all (b ["strike"] - a ["strike"] == step for a, b in zip (rows, rows [1:])),
           "strikes %s are not %s apart" % ([r ["strike"] for r in rows], step))
    spot = snap ["underlying"] ["last_price"]
    check (abs (spot - atm) <= 2 * step, "ATM %s is far from the underlying's %s" % (atm, spot))
    legs = {}
    for row in rows:
        for kind in ("CE", "PE"):
            leg = row [kind]
            want = chain_leg_name (root, expiry, row ["strike"], kind)
            check (leg is not None and leg ["symbol"] == want, "%s %s leg %s, want %s"
                   % (row ["strike"], kind, short (leg), want))
            check ("last_price" in leg and leg ["last_price"] > 0, "%s has no price in the "
                   "snapshot: %s" % (want, short (leg)))
            legs [(row ["strike"], kind)] = want
    total = await upstream_settles (upstream, base + 2 * strikes + 1)
    check (total == base + 2 * strikes + 1, "upstream holds %d symbols, want %d + %d"
           % (total, base, 2 * strikes + 1))

    #  Updates: each leg's data is the provider's tick, the same the symbol's own stream
    #  carries, and that tick's values are the sim's
    atm_call = legs [(atm, "CE")]
    await subscribe (c1, atm_call, provider)
    kinds = set ()
    matched = False
    deadline = time.monotonic () + 20
    pending = None
    while not (matched and kinds >= {"CE", "PE", "underlying"}) and time.monotonic () < deadline:
        m = await c1.expect (lambda m: m.get ("type") in ("OPTION_CHAIN_UPDATE", "MARKET_DATA"),
                             10, "chain updates")
        if m ["type"] == "OPTION_CHAIN_UPDATE":
            check (m ["provider"] == provider and m ["symbol"] == root and m ["expiry"] == expiry,
                   "update header %s" % short (m))
            if "underlying" in m:
                kinds.add ("underlying")
                continue
            kinds.add (m ["option_type"])
            want = legs.get ((m ["strike"], m ["option_type"]))
            check (want == m ["data"] ["symbol"], "update for %s at %s %s" % (
                   m ["data"] ["symbol"], m ["strike"], m ["option_type"]))
            if want == atm_call:
                pending = m ["data"]
        elif m ["symbol"] == atm_call and pending is not None:
            tick = m ["data"]
            for key in ("last_price", "volume", "oi", "exchange_ts"):
                check (pending.get (key) == tick.get (key), "chain %s %s, MARKET_DATA %s" % (
                       key, pending.get (key), tick.get (key)))
            pending = None
            price = await sim_price (m)
            matched = matched or (price is not None and abs (price - tick ["last_price"]) < 1e-9)
    check (kinds >= {"CE", "PE", "underlying"}, "updates seen: %s" % sorted (kinds))
    check (matched, "no update of %s carried the sim's last price" % atm_call)

    #  A second client shares the chain: its snapshot at once, the same strikes
    c2 = await client (d, "chain-2")
    await c2.send ({"type": "GET_OPTION_CHAIN", "symbol": root, "expiry": expiry,
                    "strikes": strikes, "provider": provider})
    snap2 = await c2.expect (lambda m: m.get ("type") == "OPTION_CHAIN", 3, "the shared chain")
    check ([r ["strike"] for r in snap2 ["strikes"]] == [r ["strike"] for r in rows]
           and "id" not in snap2, "shared snapshot %s" % short (snap2))
    check (await upstream () == total, "a shared chain asked for more upstream")

    #  UNSUBSCRIBE: the reply, then no more updates; the legs stay up for the other client
    reply = await c1.request ({"type": "UNSUBSCRIBE", "id": "u1", "option_chain": root,
                               "expiry": expiry, "provider": provider})
    check (reply == {"type": "UNSUBSCRIBED", "id": "u1", "provider": provider,
                     "option_chain": root, "expiry": expiry}, "UNSUBSCRIBED: %s" % short (reply))
    await c1.ping ()
    late = [m for m in await c1.during (1.0) if m.get ("type") == "OPTION_CHAIN_UPDATE"]
    check (not late, "%d updates after UNSUBSCRIBE" % len (late))
    reply = await c1.request ({"type": "UNSUBSCRIBE", "id": "u2", "option_chain": root,
                               "expiry": expiry, "provider": provider})
    check (reply ["type"] == "ERROR" and reply ["code"] == "NOT_SUBSCRIBED", short (reply))
    reply = await c1.request ({"type": "GET_OPTION_CHAIN", "id": "x", "symbol": "NOPE",
                               "expiry": expiry, "provider": provider})
    check (reply ["type"] == "ERROR" and reply ["code"] == "UNKNOWN_SYMBOL", short (reply))
    check (await upstream () == total, "the other client's chain lost its legs")
    await c2.expect (lambda m: m.get ("type") == "OPTION_CHAIN_UPDATE", 10, "c2's updates")
    #  The last holders go (c1 still holds the ATM call as a symbol): everything is released
    await c2.close ()
    await c1.close ()
    left = await upstream_settles (upstream, base)
    check (left == base, "after both clients left upstream holds %d, want %d" % (left, base))


async def upstream_settles (upstream, want, timeout=10.0):
    deadline = time.monotonic () + timeout
    while True:
        got = await upstream ()
        if got == want or time.monotonic () > deadline:
            return got
        await asyncio.sleep (0.2)


# ----------------------------------------------------------------------------------------
#  TAP

def diag (text):
    for line in str (text).splitlines () or [""]:
        print ("# " + line, flush=True)


class Tap:
    """Cases run in order in one event loop; sync cases run in a worker thread."""

    def __init__ (self):
        self.cases = []
        self.daemons = []               #  Whose log to show when a case fails

    def case (self, description, timeout=15.0):
        def deco (fn):
            self.cases.append ((description.replace ("#", "no."), fn, timeout))
            return fn
        return deco

    def run (self, setup=None):
        """setup: async fn returning the context object passed to every case."""
        try:
            asyncio.run (self._run (setup))
        except SystemExit:
            raise
        except BaseException:
            diag ("harness crashed:\n" + traceback.format_exc ())
            _kill_all ()
            sys.exit (2)
        _kill_all ()
        sys.exit (0)

    async def _run (self, setup):
        print ("1..%d" % len (self.cases), flush=True)
        pool = concurrent.futures.ThreadPoolExecutor (4)
        ctx, setup_error = None, None
        if setup:
            try:
                ctx = await asyncio.wait_for (setup (self), 40)
            except BaseException as e:
                if isinstance (e, (KeyboardInterrupt, SystemExit)):
                    raise
                setup_error = "setup failed: %s" % (
                    e if isinstance (e, CaseFailure) else traceback.format_exc ())
        failed = 0
        for n, (description, fn, timeout) in enumerate (self.cases, 1):
            if setup_error:
                print ("not ok %d - %s" % (n, description), flush=True)
                diag (setup_error)
                failed += 1
                continue
            ok, skip, why = await self._one (fn, ctx, timeout, pool)
            if skip is not None:
                print ("ok %d - %s # SKIP %s" % (n, description, skip), flush=True)
            elif ok:
                print ("ok %d - %s" % (n, description), flush=True)
            else:
                failed += 1
                print ("not ok %d - %s" % (n, description), flush=True)
                diag (why)
        for c in list (_persistent):
            await c.close ()
        pool.shutdown (wait=False)
        return failed

    async def _one (self, fn, ctx, timeout, pool):
        t0 = time.monotonic ()
        del _clients [:]
        ok, skip, why = True, None, ""
        try:
            if inspect.iscoroutinefunction (fn):
                await asyncio.wait_for (fn (ctx), timeout)
            else:
                loop = asyncio.get_running_loop ()
                await asyncio.wait_for (loop.run_in_executor (pool, fn, ctx), timeout)
        except Skip as e:
            skip = str (e)
        except asyncio.TimeoutError:
            ok, why = False, "case timed out after %.0f s" % timeout
        except CaseFailure as e:
            ok, why = False, str (e)
        except Exception:
            ok, why = False, traceback.format_exc ()
        bad = []
        for c in list (_clients) + list (_persistent):
            bad += c.unreported_errors ()
        for c in list (_clients):
            await c.close ()
        del _clients [:]
        if bad:
            ok, skip = False, None
            why = (why + "\n" if why else "") + "\n".join (bad [:5]) + (
                "\n(%d more invalid messages)" % (len (bad) - 5) if len (bad) > 5 else "")
        if not ok:
            for d in self.daemons:
                if d.proc is not None:
                    state = "running" if d.running () else "exited %s" % d.proc.returncode
                    why += "\n%s (%s, since the case started):\n%s" % (
                        d.name, state, d.log_tail (30, since=t0))
        return ok, skip, why
