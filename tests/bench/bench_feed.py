#  bench_feed - feed throughput to 1, 4 and 16 subscribers, for `make bench` (issue 7)
#
#  One daemon with a SIM at a high tick rate; N `tickmux-tail --stats` subscribers on md.ALL.
#  For each N, the messages per second each subscriber received (median over seconds 2..5),
#  their sum, the gaps they saw and the feed's own dropped count (from hb.). Writes "feed" into
#  the JSON file named on the command line (merged). Measured, never asserted.
#
#  usage: bench_feed.py RESULTS.json [TICKS_PER_SECOND]

import json
import os
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname (os.path.abspath (__file__))
sys.path.insert (0, os.path.join (HERE, "..", "e2e"))
import tmharness as h

TAIL = os.path.join (os.path.dirname (h.BIN), "tickmux-tail")


def run_round (feed, n, seconds=6):
    procs = [subprocess.Popen ([TAIL, "--endpoint", feed, "--topic", "md.ALL.", "--stats",
                                "--count", str (seconds)], stdout=subprocess.PIPE)
             for _ in range (n)]
    per = []
    gaps = 0
    for p in procs:
        out, _ = p.communicate (timeout=seconds + 20)
        rows = [json.loads (l) for l in out.decode ().splitlines ()]
        per.append (statistics.median (r ["rate"] for r in rows [1:5]))
        gaps += rows [-1] ["gaps"]
    return {"subscribers": n, "per_subscriber_msgs_s": round (statistics.median (per)),
            "total_msgs_s": round (sum (per)), "gaps_seen": gaps}


def main (path, rate):
    d = h.Daemon (h.config (providers=[{"name": "SIM", "kind": "SIM", "seed": 7, "rate": rate}]),
                  name="bench-feed")
    d.start ()
    results = []
    try:
        feed, _ = d.feed_endpoints ()
        time.sleep (1)
        for n in (1, 4, 16):
            r = run_round (feed, n)
            results.append (r)
            print ("feed %2d subscribers: %s" % (n, r), flush=True)
        hb = subprocess.run ([TAIL, "--endpoint", feed, "--topic", "hb.", "--count", "1"],
                             capture_output=True, timeout=10)
        dropped = json.loads (hb.stdout) ["body"] ["dropped"]
    finally:
        d.stop ()
    doc = {}
    if os.path.exists (path):
        with open (path) as f:
            doc = json.load (f)
    doc ["feed"] = {"sim_ticks_per_s": rate, "topic": "md.ALL.", "rounds": results,
                    "feed_dropped": dropped, "cpus": os.cpu_count ()}
    with open (path, "w") as f:
        json.dump (doc, f, indent=2)
        f.write ("\n")


if __name__ == "__main__":
    main (sys.argv [1], float (sys.argv [2]) if len (sys.argv) > 2 else 50000)
