#  bench_failover - how long a client waits for a failover, for `make bench` (issue 5)
#
#  Two `tickmux-sim truedata` markets (TDA preferred, TDB), the daemon, one client on NIFTY-I
#  and RELIANCE on ALL. For each kind of fault (TDA's process killed, its connection left open
#  but silent, garbage) N times: inject it, time until the client gets FAILOVER for NIFTY-I
#  (detection and switch, as a client sees them) and until its first tick from TDB (the
#  stream going on); then heal TDA and wait for the RECOVERED switch back. Writes the figures
#  into the JSON file named on the command line (merged with what is there). Measured, never
#  asserted.
#
#  usage: bench_failover.py RESULTS.json [ROUNDS]

import asyncio
import json
import os
import statistics
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname (os.path.abspath (__file__))
sys.path.insert (0, os.path.join (HERE, "..", "e2e"))
import tmharness as h
import test_failover as tf


def summary (values):
    values = sorted (values)
    return {"n": len (values), "p50_ms": round (statistics.median (values) * 1000, 1),
            "max_ms": round (values [-1] * 1000, 1), "min_ms": round (values [0] * 1000, 1)}


async def round_trip (m, kind):
    sims = m.sims
    t0 = time.monotonic ()
    if kind == "killed":
        sim = sims ["TDA"]
        sim.proc.kill ()
        sim.proc.wait ()
    elif kind == "silent":
        await asyncio.to_thread (tf.sim_call, sims ["TDA"], "/_sim/fault?kind=silent")
    else:
        for _ in range (12):
            await asyncio.to_thread (tf.sim_call, sims ["TDA"], "/_sim/fault?kind=garbage")
    await tf.watch (m, tf.failover ("NIFTY-I", "TDA", "TDB"), 30, "FAILOVER")
    detected = time.monotonic () - t0
    await tf.watch (m, tf.tick_from ("TDB"), 10, "a TDB tick")
    flowing = time.monotonic () - t0
    if kind == "killed":
        await asyncio.to_thread (m.start_sim, "TDA", m.ports ["TDA"])
        sim._cleanup ()
    elif kind == "silent":
        await asyncio.to_thread (tf.sim_call, sims ["TDA"], "/_sim/fault?kind=resume")
    await tf.watch (m, tf.failover ("NIFTY-I", "TDB", "TDA", ("RECOVERED",)), 60, "RECOVERED")
    del m.received [:]
    return detected, flowing


async def main (path, rounds):
    m = await tf.setup (tf.tap)
    results = {}
    try:
        await tf.watch (m, tf.tick_from ("TDA"), 15, "a TDA tick")
        for kind in ("killed", "silent", "garbage"):
            detected, flowing = [], []
            for _ in range (rounds):
                d, f = await round_trip (m, kind)
                detected.append (d)
                flowing.append (f)
            results [kind] = {"fault_to_failover": summary (detected),
                              "fault_to_next_tick": summary (flowing)}
            print ("failover %-8s fault -> FAILOVER %s; -> next tick %s" % (
                   kind, results [kind] ["fault_to_failover"], results [kind] ["fault_to_next_tick"]),
                   flush=True)
    finally:
        await m.c.close ()
        for d in [m.d] + list (m.sims.values ()):
            d.stop ()
    doc = {}
    if os.path.exists (path):
        with open (path) as f:
            doc = json.load (f)
    doc ["failover"] = {"rounds": rounds, "hold_down_ms": tf.HOLD_DOWN_MS,
                        "stale_floor_ms": 1000, "kinds": results}
    with open (path, "w") as f:
        json.dump (doc, f, indent=2)
        f.write ("\n")


if __name__ == "__main__":
    asyncio.run (main (sys.argv [1], int (sys.argv [2]) if len (sys.argv) > 2 else 20))
