#  test_systemd - what an ops person relies on (issue 8): the unit's hardening, the watchdog
#  fed only while every actor answers, SIGTERM draining clients with 1001, and `make install`
#  putting each file where a Debian admin expects it
#
#  The watchdog is driven the way systemd drives it: NOTIFY_SOCKET names a datagram socket this
#  test binds, WATCHDOG_USEC the interval; a simulator told to hang (provider/hang_after) stands
#  for a stuck actor.

import asyncio
import json
import os
import re
import shutil
import signal
import socket
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
BUILDDIR = os.path.dirname (h.BIN)


async def setup (tap):
    return types.SimpleNamespace (tmp=tempfile.mkdtemp (prefix="tickmux-systemd-"))


@tap.case ("systemd-analyze security --offline=true: the unit's exposure is 2.0 or less", timeout=60)
def t_exposure (ctx):
    unit = os.path.join (BUILDDIR, "systemd", "tickmux.service")
    check (os.path.exists (unit), "no %s (make builds it)" % unit)
    tool = shutil.which ("systemd-analyze")
    check (tool, "no systemd-analyze (Debian's systemd package)")
    out = subprocess.run ([tool, "security", "--offline=true", "--no-pager", unit],
                          capture_output=True, text=True, timeout=50)
    m = re.search (r"Overall exposure level for tickmux\.service: ([0-9.]+)", out.stdout + out.stderr)
    check (m, "no exposure in: %s" % (out.stdout + out.stderr) [-500:])
    h.diag ("exposure %s" % m.group (1))
    check (float (m.group (1)) <= 2.0, "exposure %s:\n%s" % (m.group (1), "\n".join (
        line for line in out.stdout.splitlines () if "✗" in line)))
    #  Every directive of [Service] comes after a comment that says why (a run of related
    #  directives shares one)
    lines = open (os.path.join (h.SRCDIR, "systemd", "tickmux.service.in")).read ().splitlines ()
    service = lines.index ("[Service]")
    end = lines.index ("[Install]")
    for i in range (service + 1, end):
        if lines [i] and not lines [i].startswith ("#") and not lines [i - 1]:
            h.fail ("unit line %d has no comment: %s" % (i + 1, lines [i]))
        if lines [i] and not lines [i].startswith ("#") and lines [i - 1] == "[Service]":
            h.fail ("unit line %d has no comment: %s" % (i + 1, lines [i]))


def notify_socket (ctx):
    path = os.path.join (ctx.tmp, "notify")
    s = socket.socket (socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind (path)
    s.settimeout (0.2)
    return s, path


def datagrams (sock, seconds):
    """(time, text) of every notification within seconds."""
    got = []
    deadline = time.monotonic () + seconds
    while time.monotonic () < deadline:
        try:
            got.append ((time.monotonic (), sock.recv (4096).decode ()))
        except socket.timeout:
            pass
    return got


@tap.case ("the watchdog is fed every half interval while every actor answers, and not once one hangs", timeout=60)
def t_watchdog (ctx):
    sock, path = notify_socket (ctx)
    text = h.config (providers=[{"name": "SIM", "kind": "SIM", "seed": 3, "rate": 100}])
    text = text.replace ("    rate = 100\n", "    rate = 100\n    hang_after = 3000\n")
    d = h.Daemon (text, name="watchdog", env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
    try:
        d.start ()
        got = datagrams (sock, 6.0)
        ended = time.monotonic ()
        ready = [t for t, m in got if "READY=1" in m]
        check (ready, "no READY=1 in %s" % short ([m for _, m in got]))
        feeds = [t for t, m in got if m.strip () == "WATCHDOG=1"]
        hang = next ((t for (t, tag, line) in d.lines if "hanging" in line), None)
        check (hang, "the simulator did not hang\n" + d.log_tail (10))
        before = [t for t in feeds if t < hang]
        after = [t for t in feeds if t > hang + 0.5]
        check (len (before) >= 8, "%d WATCHDOG=1 in the first 3 s (every 0.2 s expected)" % len (before))
        gaps = [b - a for a, b in zip (before, before [1:])]
        check (max (gaps) < 0.6, "a gap of %.2f s between WATCHDOG=1" % max (gaps))
        check (not after, "%d WATCHDOG=1 after the simulator hung" % len (after))
        check (any ("actor SIM did not answer" in line for line in d.log ()),
               "no log line names the actor\n" + d.log_tail (10))
        h.diag ("%d WATCHDOG=1 while all answered, none in the %.1f s after SIM hung"
                % (len (before), ended - hang))
    finally:
        d.stop ()
        sock.close ()


@tap.case ("SIGTERM: every client gets a close frame with 1001, then tickmux exits 0", timeout=30)
async def t_drain (ctx):
    d = h.Daemon (h.config (), name="drain")
    await asyncio.to_thread (d.start)
    clients = []
    for i in range (5):
        c = await h.client (d, "c%d" % i)
        await h.subscribe (c, "NIFTY-I")
        clients.append (c)
    d.proc.send_signal (signal.SIGTERM)
    for c in clients:
        code, reason = await c.wait_closed (5)
        check (code == 1001, "%s: close %s %r" % (c.name, code, reason))
    rc = await asyncio.to_thread (d.wait_exit, 10)
    check (rc == 0, "exit %s" % rc)
    check (any ("drained, 0 clients left" in line for line in d.log ()), "no drain in the log\n"
           + d.log_tail (10))
    d.stop ()


@tap.case ("make install: the binary, the unit, the example config, the schemas and tickmux(8) where Debian expects them", timeout=120)
def t_install (ctx):
    dest = os.path.join (ctx.tmp, "root")
    out = subprocess.run (["make", "-C", BUILDDIR, "install", "DESTDIR=" + dest],
                          capture_output=True, text=True, timeout=110)
    check (out.returncode == 0, "make install: %s" % out.stderr [-800:])
    found = {os.path.relpath (os.path.join (root, f), dest)
             for root, _, files in os.walk (dest) for f in files}
    prefix = None
    for path in found:
        if path.endswith ("bin/tickmux"):
            prefix = path [:-len ("bin/tickmux")]
    check (prefix is not None, "no bin/tickmux in %s" % sorted (found))
    want = [prefix + "bin/tickmux", prefix + "bin/tickmux-tail", prefix + "share/man/man8/tickmux.8",
            prefix + "share/tickmux/schemas/client-out.schema.json",
            prefix + "share/tickmux/schemas/feed.md", prefix + "share/doc/tickmux/README.md"]
    missing = [w for w in want if w not in found]
    check (not missing, "not installed: %s (installed: %s)" % (missing, sorted (found)))
    check (any (p.endswith ("etc/tickmux/tickmux.cfg") for p in found), "no etc/tickmux/tickmux.cfg")
    units = [p for p in found if p.endswith ("system/tickmux.service")]
    check (units, "no systemd unit in %s" % sorted (found))
    unit = open (os.path.join (dest, units [0])).read ()
    check ("@bindir@" not in unit and "ExecStart=/" in unit, "the unit's paths: %s" % unit [:300])
    page = open (os.path.join (dest, prefix + "share/man/man8/tickmux.8")).read ()
    check ("@" not in page.replace ("\\@", ""), "an unexpanded @ in tickmux.8")
    man = shutil.which ("man")
    if man:
        text = subprocess.run ([man, "-l", os.path.join (dest, prefix + "share/man/man8/tickmux.8")],
                               capture_output=True, text=True, timeout=20,
                               env=dict (os.environ, MANWIDTH="80")).stdout
        text = re.sub (".\x08", "", text)     #  Overstrike bold and underline        check ("SIGNALS" in text and "--upstream" in text, "man renders: %s" % text [:300])
    shutil.rmtree (ctx.tmp, ignore_errors=True)


tap.run (setup)
