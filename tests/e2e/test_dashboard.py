#  test_dashboard - the page at / in headless Chromium (issue 10; README section 4)
#
#  Starts the daemon on its simulated market, drives tests/browser/dashboard.cjs (playwright-core
#  with Debian's chromium) and checks what it saw. The screenshot lands beside this test's log.

import asyncio
import json
import os
import subprocess
import sys
import types

sys.dont_write_bytecode = True
sys.path.insert (0, os.path.dirname (os.path.abspath (__file__)))
import tmharness as h
from tmharness import check

tap = h.Tap ()
DRIVER = os.path.join (h.SRCDIR, "tests", "browser", "dashboard.cjs")
PLAYWRIGHT = os.environ.get ("PLAYWRIGHT_CORE") or os.path.join (
    os.path.expanduser ("~"), ".cache", "tickmux", "browser", "node_modules", "playwright-core")
SCREENSHOT = os.path.abspath ("test_dashboard.png")


async def setup (tap):
    #  The simulated market, and a Kite simulator behind a ZERODHA provider for order updates
    sim = h.Sim ("kite", args=["--seed", "4"], name="dashboard-kite",
                 env={"TICKMUX_FAKE_TIME": h.FAKE_TIME})
    await asyncio.to_thread (sim.start)
    config = (h.config (providers=[{"name": "SIM", "kind": "SIM", "seed": 3, "rate": 400}])
              + "provider\n    name = ZERODHA\n    kind = ZERODHA\n"
              + "    ws_url = \"%s\"\n    api_url = \"%s\"\n" % (sim.ws, sim.url ("")))
    d = h.Daemon (config, name="dashboard",
                  env={"ZERODHA_API_KEY": "tmkey", "ZERODHA_ACCESS_TOKEN": "tmaccess"})
    tap.daemons = [d, sim]
    await asyncio.to_thread (d.start)
    await h.wait_serving (d)
    order = sim.url ("/_sim/order?status=COMPLETE&tradingsymbol=RELIANCE&quantity=10")
    proc = await asyncio.to_thread (
        subprocess.run, ["node", DRIVER, d.url ("/"), SCREENSHOT, order], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, timeout=120, env=dict (os.environ, PLAYWRIGHT_CORE=PLAYWRIGHT))
    out = proc.stdout.decode ("utf-8", "replace").strip ().splitlines ()
    try:
        report = json.loads (out [-1])
    except (IndexError, ValueError):
        report = {"fatal": "driver printed no report (rc %d): %s" % (
            proc.returncode, proc.stderr.decode ("utf-8", "replace") [-2000:]), "steps": {},
            "console_errors": [], "page_errors": []}
    return types.SimpleNamespace (d=d, sim=sim, report=report, steps=report.get ("steps", {}))


@tap.case ("the browser ran the page without a driver failure")
def t_driver (ctx):
    check ("fatal" not in ctx.report, "driver: %s" % ctx.report.get ("fatal"))
    check (ctx.steps.get ("status") == 200, "GET / answered %s" % ctx.steps.get ("status"))
    check (ctx.steps.get ("title") == "tickmux", "title %r" % ctx.steps.get ("title"))


@tap.case ("the watchlist shows NIFTY-I and its price changes")
def t_prices (ctx):
    check (ctx.steps.get ("nifty_first"), "no NIFTY-I price within 10 s")
    check (ctx.steps.get ("nifty_changed"), "NIFTY-I stayed at %s" % ctx.steps.get ("nifty_first"))


@tap.case ("the SIM card shows CONNECTED and a message rate")
def t_card (ctx):
    check ((ctx.steps.get ("card_state") or "").startswith ("CONNECTED"),
           "card state %r" % ctx.steps.get ("card_state"))
    check (ctx.steps.get ("card_rate"), "no message rate on the card")


@tap.case ("a symbol added through the form shows and ticks; a removed one goes")
def t_add_remove (ctx):
    check (ctx.steps.get ("tcs_first"), "TCS never showed a price")
    check (ctx.steps.get ("tcs_changed"), "TCS stayed at %s" % ctx.steps.get ("tcs_first"))
    check (ctx.steps.get ("reliance_removed"), "RELIANCE's row is still there")


@tap.case ("an order placed at the broker shows in the orders table as COMPLETE")
def t_orders (ctx):
    check (ctx.steps.get ("order_id"), "the Kite simulator gave no order id")
    check (ctx.steps.get ("order_status") == "COMPLETE",
           "orders table status %r" % ctx.steps.get ("order_status"))


@tap.case ("no console errors, no page errors, nothing fetched from elsewhere")
def t_clean (ctx):
    check (not ctx.report.get ("console_errors"), "console: %s" % ctx.report.get ("console_errors"))
    check (not ctx.report.get ("page_errors"), "page: %s" % ctx.report.get ("page_errors"))
    check (ctx.steps.get ("foreign_requests") == [], "requests: %s" % ctx.steps.get ("foreign_requests"))


@tap.case ("a screenshot was saved for the log")
def t_screenshot (ctx):
    path = ctx.steps.get ("screenshot")
    check (path and os.path.getsize (path) > 10000, "screenshot %r" % path)
    h.diag ("screenshot: %s" % path)


@tap.case ("the daemon and the Kite simulator exit 0 on SIGTERM")
def t_stop (ctx):
    rc = ctx.d.stop ()
    check (rc == 0, "exit %s\n%s" % (rc, ctx.d.log_tail (10)))
    rc = ctx.sim.stop ()
    check (rc == 0, "sim exit %s\n%s" % (rc, ctx.sim.log_tail (10)))


if __name__ == "__main__":
    tap.run (setup)
