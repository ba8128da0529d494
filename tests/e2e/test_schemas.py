#  test_schemas - the JSON Schemas in schemas/: valid, in step with the headers and the README,
#  and met by what the real codec writes
#
#  The codec check runs $TICKMUX_CODEC_DUMP (default: codec_dump next to $TICKMUX_BIN), which
#  writes records [4-byte big-endian length][msgpack body] to stdout: tick bodies (one map,
#  or an array of maps for a batch) and status bodies. Each is decoded with python msgpack
#  and validated: kind "tick" against tick.schema.json, kind "status" against
#  status.schema.json, an array item by item as a batch of ticks.

import copy
import json
import os
import re
import struct
import subprocess
import sys
import types

import jsonschema
import msgpack

sys.dont_write_bytecode = True         #  No __pycache__ in the source tree (distcheck)
sys.path.insert (0, os.path.dirname (os.path.abspath (__file__)))
import tmharness as h
from tmharness import check, fail

tap = h.Tap ()
SCHEMA_FILES = ["tick", "status", "event", "stats", "heartbeat", "client-in", "client-out"]
CODEC_DUMP = os.environ.get ("TICKMUX_CODEC_DUMP") or os.path.join (
    os.path.dirname (os.path.abspath (h.BIN)), "codec_dump")


def read_src (*parts):
    with open (os.path.join (h.SRCDIR, *parts)) as f:
        return f.read ()


def header_int (text, name):
    m = re.search (r"#define\s+%s\s+\(?(\d+)" % name, text)
    check (m, "no #define %s" % name)
    return int (m.group (1))


def valid (name, instance, ref=None):
    return h.schema_errors (name, instance, ref) == ""


for _name in SCHEMA_FILES:
    def _make (name):
        def t_check_schema (ctx):
            s = h.schema (name)
            cls = jsonschema.validators.validator_for (s, default=None)
            check (cls is not None, "%s: unknown $schema %r" % (name, s.get ("$schema")))
            cls.check_schema (s)
            check (cls.__name__ in ("Draft202012Validator", "Draft7Validator"),
                   "%s: draft %s" % (name, cls.__name__))
            #  Every $ref resolves
            v = cls (s)
            for ref in re.findall (r'"\$ref":\s*"([^"]+)"', json.dumps (s)):
                v.resolver.resolve (ref)
        return t_check_schema
    tap.case ("schemas/%s.schema.json is a valid JSON Schema whose refs resolve" % _name) (_make (_name))


@tap.case ("schemas/feed.md describes the two frames, the topics with '|', batches and v")
def t_feed_md (ctx):
    text = read_src ("schemas", "feed.md")
    for needle in ("[topic][msgpack body]", "md.ALL.", "md.SIM.NIFTY-I|", "status.", "raw.",
                   "|", "batch", "`v`", "tick.schema.json", "status.schema.json"):
        check (needle in text, "feed.md does not mention %r" % needle)


#  Positive and negative fixtures, each (schema, instance, should be valid, what)
TICK = {"v": 1, "kind": "tick", "stream": "ALL", "provider": "SIM", "symbol": "NIFTY-I",
        "token": "SIM-1", "seq": 1042, "src_seq": 1042, "last_price": 24312.45,
        "last_quantity": 75, "volume": 1830450, "open": 24290.0, "high": 24330.1,
        "low": 24270.55, "close": 24280.0, "oi": 12003450, "bid_price": 24312.4,
        "bid_quantity": 150, "ask_price": 24312.5, "ask_quantity": 225,
        "depth": {"bids": [[24312.4, 150, 3], [24312.35, 300, 5]],
                  "asks": [[24312.5, 225, 4], [24312.55, 75, 1]]},
        "exchange_ts": 1767584700000000000, "recv_ts": 1767584700000100000,
        "norm_ts": 1767584700000200000, "pub_ts": 1767584700000300000}
LTP = {k: TICK [k] for k in ("v", "kind", "stream", "provider", "symbol", "token", "seq",
                             "src_seq", "last_price", "exchange_ts", "recv_ts", "norm_ts",
                             "pub_ts")}
HEADER_KEYS = ("v", "kind", "stream", "provider", "symbol", "seq")
MD = {"type": "MARKET_DATA", "stream": "ALL", "provider": "SIM", "symbol": "NIFTY-I", "seq": 1042,
      "data": {k: v for k, v in TICK.items () if k not in HEADER_KEYS}}
STATUS = {"v": 1, "kind": "status", "provider": "SIM2", "provider_kind": "SIM",
          "state": "CONNECTED", "reason": "", "ts": 1767584700000000000, "messages": 10,
          "errors": 0, "symbols_total": 2, "symbols_offset": 0,
          "symbols": ["NIFTY-I", "NIFTY 50"]}


def edit (base, path, value=KeyError):
    """A copy of base with path (a list of keys) set to value, or removed."""
    doc = copy.deepcopy (base)
    node = doc
    for key in path [:-1]:
        node = node [key]
    if value is KeyError:
        del node [path [-1]]
    else:
        node [path [-1]] = value
    return doc


FIXTURES = [
    ("tick", TICK, True, "a full tick"),
    ("tick", LTP, True, "an LTP-only tick (no optional group)"),
    ("tick", [TICK, LTP], True, "a batch of two"),
    ("tick", edit (TICK, ["v"], 2), False, "v 2"),
    ("tick", edit (TICK, ["kind"], "status"), False, "kind status"),
    ("tick", edit (TICK, ["symbol"]), False, "no symbol"),
    ("tick", edit (TICK, ["symbol"], "NIFTY|I"), False, "a symbol with the terminator"),
    ("tick", edit (TICK, ["symbol"], "X" * 32), False, "a 32-byte symbol"),
    ("tick", edit (TICK, ["open"]), False, "a quote group without open"),
    ("tick", edit (TICK, ["ask_price"]), False, "a book without ask_price"),
    ("tick", edit (TICK, ["lastprice"], 1.0), False, "a misspelt key"),
    ("tick", edit (TICK, ["depth", "bids"], [[1.0, 1, 1]] * 6), False, "six depth levels"),
    ("tick", edit (TICK, ["depth", "asks"], [[1.0, 1]]), False, "a level of two numbers"),
    ("tick", edit (TICK, ["seq"], -1), False, "a negative seq"),
    ("tick", edit (TICK, ["exchange_ts"], 1.5), False, "a float timestamp"),
    ("tick", [TICK] * 257, False, "a batch of 257"),
    ("tick", [], False, "an empty batch"),
    ("status", STATUS, True, "a status"),
    ("status", edit (STATUS, ["state"], "UP"), False, "state UP"),
    ("status", edit (STATUS, ["symbols"], ["A"] * 1001), False, "1001 symbols"),
    ("status", edit (STATUS, ["reason"], "r" * 128), False, "a 128-byte reason"),
    ("status", edit (STATUS, ["provider_kind"]), False, "no provider_kind"),
    ("client-out", MD, True, "MARKET_DATA, README example filled in"),
    ("client-out", edit (MD, ["data"], {k: v for k, v in LTP.items () if k not in HEADER_KEYS}),
     True, "MARKET_DATA of an LTP-only tick"),
    ("client-out", {"type": "PROVIDER_STATUS", "provider": "SIM", "kind": "SIM",
                    "state": "CONNECTED", "reason": "", "ts": 1767584700000000000}, True,
     "PROVIDER_STATUS"),
    ("client-out", {"type": "SUBSCRIBED", "channel": "STATUS", "id": 3}, True, "SUBSCRIBED channel"),
    ("client-out", {"type": "UNSUBSCRIBED", "provider": "ALL", "symbols": ["NIFTY-I"], "id": "a"},
     True, "UNSUBSCRIBED with id"),
    ("client-out", {"type": "ERROR", "code": "UNKNOWN_SYMBOL", "message": "unknown symbol 'NIFTY-X'",
                    "symbol": "NIFTY-X", "request": {"type": "SUBSCRIBE", "symbol": "NIFTY-X"},
                    "id": 7}, True, "ERROR with request, symbol, id"),
    ("client-out", {"type": "ERROR", "code": "BAD_JSON", "message": "line 1 column 2: x"}, True,
     "ERROR BAD_JSON"),
    ("client-out", edit (MD, ["extra"], 1), False, "MARKET_DATA with an extra field"),
    ("client-out", edit (MD, ["data", "v"], 1), False, "MARKET_DATA data with v"),
    ("client-out", edit (MD, ["data", "high"]), False, "MARKET_DATA quote group without high"),
    ("client-out", edit (MD, ["stream"]), False, "MARKET_DATA without stream"),
    ("client-out", edit (MD, ["id"], 1), False, "MARKET_DATA with an id"),
    ("client-out", {"type": "ERROR", "code": "NOPE", "message": "x"}, False, "an unknown code"),
    ("client-out", {"type": "ERROR", "code": "BAD_JSON"}, False, "ERROR without message"),
    ("client-out", {"type": "PONG"}, False, "PONG without ts"),
    ("client-out", {"type": "PONG", "ts": 1, "when": 2}, False, "PONG with an extra field"),
    ("client-out", {"type": "SUBSCRIBED", "provider": "ALL", "symbols": ["A"], "channel": "STATUS"},
     False, "SUBSCRIBED with symbols and channel"),
    ("client-out", {"type": "SUBSCRIBED", "provider": "ALL"}, False, "SUBSCRIBED without symbols"),
    ("client-out", {"type": "PROVIDER_STATUS", "provider": "SIM", "kind": "SIM", "state": "UP",
                    "reason": "", "ts": 1}, False, "PROVIDER_STATUS state UP"),
    ("client-out", {"type": "HELLO"}, False, "an unknown type"),
    ("client-out", {"code": "BAD_JSON", "message": "x"}, False, "no type"),
    ("client-out", {"type": "OPTION_CHAIN", "provider": "ALL", "symbol": "NIFTY", "expiry": "2024-01-25",
                    "underlying": {"symbol": "NIFTY 50", "last_price": 21500.5, "exchange_ts": 1},
                    "atm_strike": 21500, "strike_step": 50, "ts": 2,
                    "strikes": [{"strike": 21500, "CE": {"symbol": "NIFTY24012521500CE"}, "PE": None}]},
     True, "OPTION_CHAIN"),
    ("client-out", {"type": "OPTION_CHAIN", "provider": "ALL", "symbol": "NIFTY", "expiry": "2024-01-25",
                    "underlying": {"symbol": "NIFTY 50", "last_price": 21500.5, "exchange_ts": 1},
                    "atm_strike": 21500, "strike_step": 50, "ts": 2,
                    "strikes": [{"strike": 21500, "CE": {"symbol": "X", "last_price": 5}, "PE": None}]},
     False, "OPTION_CHAIN leg with a price and no exchange_ts"),
    ("client-out", {"type": "OPTION_CHAIN", "provider": "ALL", "symbol": "NIFTY", "expiry": "2024-01-25",
                    "atm_strike": 21500, "strike_step": 50, "ts": 2, "strikes": []},
     False, "OPTION_CHAIN without underlying"),
    ("client-out", {"type": "OPTION_CHAIN_UPDATE", "provider": "ALL", "symbol": "NIFTY", "expiry": "2024-01-25",
                    "strike": 21500, "option_type": "PE", "data": {"symbol": "NIFTY24012521500PE",
                                                                   "last_price": 80.5, "exchange_ts": 1}},
     True, "OPTION_CHAIN_UPDATE of a leg"),
    ("client-out", {"type": "OPTION_CHAIN_UPDATE", "provider": "ALL", "symbol": "NIFTY", "expiry": "2024-01-25",
                    "underlying": {"symbol": "NIFTY 50", "last_price": 1.5, "exchange_ts": 1}},
     True, "OPTION_CHAIN_UPDATE of the underlying"),
    ("client-out", {"type": "OPTION_CHAIN_UPDATE", "provider": "ALL", "symbol": "NIFTY", "expiry": "2024-01-25",
                    "strike": 21500, "option_type": "XX", "data": None}, False, "an option_type XX"),
    ("client-out", {"type": "OPTION_CHAIN_UPDATE", "provider": "ALL", "symbol": "NIFTY", "expiry": "2024-01-25",
                    "strike": 21500, "underlying": {"symbol": "N", "last_price": 1, "exchange_ts": 1}},
     False, "an update with a strike and the underlying"),
    ("client-out", {"type": "UNSUBSCRIBED", "provider": "ALL", "option_chain": "NIFTY", "expiry": "2024-01-25"},
     True, "UNSUBSCRIBED of a chain"),
    ("client-out", {"type": "UNSUBSCRIBED", "provider": "ALL", "option_chain": "NIFTY"}, False,
     "UNSUBSCRIBED of a chain without expiry"),
    ("client-out", {"type": "FAILOVER", "symbol": "NIFTY-I", "from": "A", "to": "B", "reason": "DISCONNECTED",
                    "ts": 1}, True, "FAILOVER"),
    ("client-out", {"type": "FAILOVER", "symbol": "NIFTY-I", "from": "A", "to": "B", "reason": "BORED",
                    "ts": 1}, False, "FAILOVER with an unknown reason"),
    ("client-out", {"type": "GAP", "symbol": "NIFTY-I", "from": "A", "to": "B", "since_ts": 1, "until_ts": 2,
                    "ts": 3}, True, "GAP"),
    ("client-out", {"type": "GAP", "symbol": "NIFTY-I", "from": "A", "to": "B", "ts": 3}, False,
     "GAP without its span"),
    ("client-in", {"type": "GET_OPTION_CHAIN", "symbol": "NIFTY", "expiry": "2024-01-25", "strikes": 20},
     True, "GET_OPTION_CHAIN"),
    ("client-in", {"type": "GET_OPTION_CHAIN", "symbol": "NIFTY"}, False, "GET_OPTION_CHAIN without expiry"),
    ("client-in", {"type": "GET_OPTION_CHAIN", "symbol": "NIFTY", "expiry": "2024-01-25", "strikes": 0},
     False, "GET_OPTION_CHAIN of 0 strikes"),
    ("client-in", {"type": "UNSUBSCRIBE", "option_chain": "NIFTY", "expiry": "2024-01-25"}, True,
     "UNSUBSCRIBE of a chain"),
    ("client-in", {"type": "UNSUBSCRIBE", "option_chain": "NIFTY", "symbol": "NIFTY", "expiry": "2024-01-25"},
     False, "UNSUBSCRIBE of a chain and a symbol"),
    ("client-in", {"type": "SUBSCRIBE", "symbol": "NIFTY-I", "provider": "ALL"}, True, "SUBSCRIBE"),
    ("client-in", {"type": "SUBSCRIBE", "symbols": ["NIFTY-I", "NIFTY 50"], "provider": "SIM", "id": 1},
     True, "SUBSCRIBE symbols"),
    ("client-in", {"type": "SUBSCRIBE", "channel": "STATUS"}, True, "SUBSCRIBE channel"),
    ("client-in", {"type": "UNSUBSCRIBE", "symbol": "NIFTY-I", "id": "x"}, True, "UNSUBSCRIBE"),
    ("client-in", {"type": "PING"}, True, "PING"),
    ("client-in", {"type": "SUBSCRIBE"}, False, "SUBSCRIBE of nothing"),
    ("client-in", {"type": "SUBSCRIBE", "symbol": "NIFTY-I", "channel": "STATUS"}, False,
     "symbol and channel"),
    ("client-in", {"type": "SUBSCRIBE", "symbol": "NIFTY-I", "symbols": ["A"]}, False,
     "symbol and symbols"),
    ("client-in", {"type": "SUBSCRIBE", "symbols": []}, False, "no symbols"),
    ("client-in", {"type": "SUBSCRIBE", "symbol": 5}, False, "a number symbol"),
    ("client-in", {"type": "PING", "id": {}}, False, "an object id"),
    ("client-in", {"type": "FROB"}, False, "an unknown type"),
    ("client-in", [1, 2], False, "an array"),
]


@tap.case ("fixtures: %d instances accepted or rejected as they should be" % len (FIXTURES))
def t_fixtures (ctx):
    wrong = []
    for name, instance, expect, what in FIXTURES:
        errors = h.schema_errors (name, instance)
        if (errors == "") != expect:
            wrong.append ("%s / %s: %s" % (name, what, errors or "accepted"))
    check (not wrong, "\n".join (wrong))


@tap.case ("client-out: checking only the type's branch (as tmharness does) agrees with the whole schema")
def t_branch (ctx):
    for name, instance, expect, what in FIXTURES:
        if name == "client-out":
            whole = h.schema_errors ("client-out", instance) == ""
            fast = h.out_errors (instance) == ""
            check (whole == fast, "%s: whole %s, branch %s" % (what, whole, fast))


def readme_examples ():
    """Every one-line JSON object starting {"type" in the README that parses."""
    text = read_src ("README.md")
    dec = json.JSONDecoder ()
    found = []
    for m in re.finditer (r'\{"type"', text):
        try:
            obj, _ = dec.raw_decode (text, m.start ())
        except ValueError:
            continue
        found.append (obj)
    return found


@tap.case ("the README's complete JSON examples validate (requests: client-in, messages: client-out)")
def t_readme (ctx):
    examples = readme_examples ()
    check (len (examples) >= 5, "only %d parseable examples in README.md" % len (examples))
    wrong = []
    for obj in examples:
        name = "client-in" if obj ["type"] in ("SUBSCRIBE", "UNSUBSCRIBE", "GET_OPTION_CHAIN", "PING") else "client-out"
        errors = h.schema_errors (name, obj)
        if errors:
            wrong.append ("%s %s: %s" % (name, h.short (obj), errors))
    check (not wrong, "\n".join (wrong))


@tap.case ("error codes: client-out enum == TM_E_* of gateway/protocol.h == the README table")
def t_codes (ctx):
    enum = h.schema ("client-out") ["$defs"] ["error_code"] ["enum"]
    header = re.findall (r'#define\s+TM_E_\w+\s+"([A-Z_]+)"', read_src ("gateway", "protocol.h"))
    #  The table of the README's "### Errors" section (other tables list variables)
    errors = read_src ("README.md").split ("### Errors", 1) [-1]
    errors = re.split (r"^##", errors, maxsplit=1, flags=re.M) [0]
    readme = re.findall (r"^\| `([A-Z_]+)` \|", errors, re.M)
    check (sorted (enum) == sorted (header), "schema %s, protocol.h %s" % (sorted (enum), sorted (header)))
    check (sorted (enum) == sorted (readme), "schema %s, README %s" % (sorted (enum), sorted (readme)))


@tap.case ("states: status and client-out enums == tm_state_t of pipeline/status.h")
def t_states (ctx):
    text = read_src ("pipeline", "status.h")
    names = [n for n in re.findall (r"\bTM_STATE_([A-Z_]+)\b", text.split ("tm_state_t;") [0])
             if n != "COUNT"]
    check (names, "no states in status.h")
    check (h.schema ("status") ["properties"] ["state"] ["enum"] == names, "status schema")
    check (h.schema ("client-out") ["$defs"] ["state"] ["enum"] == names, "client-out schema")


def comment_words (text):
    text = re.sub (r"\(.*?\)", " ", text)
    text = re.sub (r'"[^"]*"', " ", text)
    text = re.sub (r"\[.*?\]|\{.*?\}", " ", text, flags=re.S)
    return re.findall (r"\b[a-z_]+\b", text)


@tap.case ("fields: tick and status schemas == the field lists of tick.h and status.h; MARKET_DATA.data == tick less its header")
def t_fields (ctx):
    tick_h = read_src ("pipeline", "tick.h")
    block = tick_h.split ("Field names") [1].split ("//  The decoder") [0]
    block = " ".join (l.lstrip ("/ ") for l in block.splitlines () [1:])
    check ("bids" in block and "asks" in block, "tick.h depth has no bids/asks")
    fields = comment_words (block)
    tick = h.schema ("tick") ["$defs"] ["tick"] ["properties"]
    check (sorted (tick) == sorted (fields), "tick schema %s\ntick.h %s"
           % (sorted (set (tick) ^ set (fields)), fields))
    status_h = read_src ("pipeline", "status.h")
    m = re.search (r"\{(v,.*?)\}\s*\n", status_h, re.S)
    check (m, "no body comment in status.h")
    sfields = comment_words (" ".join (l.lstrip ("/ ") for l in m.group (1).splitlines ()))
    status = h.schema ("status") ["properties"]
    check (sorted (status) == sorted (sfields), "status schema differs from status.h: %s"
           % sorted (set (status) ^ set (sfields)))
    data = h.schema ("client-out") ["$defs"] ["tick_data"] ["properties"]
    check (sorted (data) == sorted (set (tick) - set (HEADER_KEYS)),
           "MARKET_DATA.data differs: %s" % sorted (set (data) ^ (set (tick) - set (HEADER_KEYS))))


@tap.case ("limits: string lengths, depth, batch and status sizes == the header limits")
def t_limits (ctx):
    base = read_src ("pipeline", "tickmux.h")
    status_h = read_src ("pipeline", "status.h")
    tick = h.schema ("tick") ["$defs"]
    out = h.schema ("client-out") ["$defs"]
    status = h.schema ("status") ["properties"]
    want = {
        "symbol": header_int (base, "TM_SYMBOL_MAX") - 1,
        "provider": header_int (base, "TM_PROVIDER_MAX") - 1,
        "token": header_int (base, "TM_TOKEN_MAX") - 1,
        "depth": header_int (base, "TM_DEPTH_MAX"),
        "batch": header_int (base, "TM_BATCH_MAX"),
        "reason": header_int (base, "TM_REASON_MAX") - 1,
        "status symbols": header_int (status_h, "TM_STATUS_SYMBOLS_MAX"),
    }
    have = {
        "symbol": [tick ["symbol"] ["maxLength"], out ["symbol"] ["maxLength"],
                   status ["symbols"] ["items"] ["maxLength"],
                   h.schema ("client-in") ["$defs"] ["symbol"] ["maxLength"]],
        "provider": [tick ["name"] ["maxLength"], out ["name"] ["maxLength"],
                     status ["provider"] ["maxLength"], status ["provider_kind"] ["maxLength"],
                     h.schema ("client-in") ["$defs"] ["provider"] ["maxLength"]],
        "token": [tick ["token"] ["maxLength"], out ["tick_data"] ["properties"] ["token"] ["maxLength"]],
        "depth": [tick ["side"] ["maxItems"], out ["side"] ["maxItems"]],
        "batch": [h.schema ("tick") ["oneOf"] [1] ["maxItems"]],
        "reason": [status ["reason"] ["maxLength"],
                   out ["provider_status"] ["properties"] ["reason"] ["maxLength"]],
        "status symbols": [status ["symbols"] ["maxItems"]],
    }
    wrong = ["%s: header %d, schemas %s" % (k, want [k], have [k])
             for k in want if any (v != want [k] for v in have [k])]
    check (not wrong, "\n".join (wrong))


def dump_records (ctx):
    if getattr (ctx, "records", None) is not None:
        return ctx.records
    check (os.access (CODEC_DUMP, os.X_OK),
           "no executable codec_dump at %s (build it, or set TICKMUX_CODEC_DUMP)" % CODEC_DUMP)
    proc = subprocess.run ([CODEC_DUMP], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=20)
    check (proc.returncode == 0, "codec_dump exited %d: %s"
           % (proc.returncode, proc.stderr.decode ("utf-8", "replace") [-500:]))
    data = proc.stdout
    records, pos = [], 0
    while pos < len (data):
        check (pos + 4 <= len (data), "truncated length at byte %d" % pos)
        (size,) = struct.unpack_from (">I", data, pos)
        pos += 4
        check (pos + size <= len (data), "record %d: length %d past the end" % (len (records), size))
        body = data [pos:pos + size]
        pos += size
        try:
            obj = msgpack.unpackb (body, raw=False)
        except Exception as e:
            fail ("record %d (%d bytes): not one msgpack object: %r" % (len (records), size, e))
        records.append (obj)
    check (records, "codec_dump wrote no records")
    ctx.records = records
    return records


@tap.case ("codec_dump writes well-formed records: ticks, batches and statuses")
def t_dump (ctx):
    records = dump_records (ctx)
    kinds = {"tick": 0, "batch": 0, "status": 0}
    for i, r in enumerate (records):
        if isinstance (r, list):
            kinds ["batch"] += 1
        elif isinstance (r, dict) and r.get ("kind") in kinds:
            kinds [r ["kind"]] += 1
        else:
            fail ("record %d is neither a tick, a batch nor a status: %s" % (i, h.short (repr (r))))
    h.diag ("codec_dump: %d records: %s" % (len (records), kinds))
    check (all (kinds.values ()), "missing kinds: %s" % kinds)


def check_all (ctx, want, name, what):
    try:
        records = dump_records (ctx)
    except h.CaseFailure as e:
        raise h.Skip ("no records (%s)" % str (e).splitlines () [0])
    wrong = []
    count = 0
    for i, r in enumerate (records):
        if want (r):
            count += 1
            errors = h.schema_errors (name, r)
            if errors:
                wrong.append ("record %d: %s\n    %s" % (i, errors, h.short (repr (r), 300)))
    check (count, "no %s in the dump" % what)
    check (not wrong, "%d of %d %s invalid:\n%s" % (len (wrong), count, what, "\n".join (wrong [:5])))
    return records


@tap.case ("codec_dump: every single tick validates against tick.schema.json")
def t_dump_ticks (ctx):
    records = check_all (ctx, lambda r: isinstance (r, dict) and r.get ("kind") == "tick",
                         "tick", "ticks")
    groups = set ()
    for r in records:
        if isinstance (r, dict) and r.get ("kind") == "tick":
            groups.add (tuple (k for k in ("volume", "bid_price", "oi", "depth") if k in r))
    h.diag ("groups seen: %s" % sorted (groups))


@tap.case ("codec_dump: every batch is 1..256 ticks, each valid")
def t_dump_batches (ctx):
    records = check_all (ctx, lambda r: isinstance (r, list), "tick", "batches")
    sizes = sorted (len (r) for r in records if isinstance (r, list))
    h.diag ("batch sizes: %s" % sizes [:20])
    for r in records:
        if isinstance (r, list):
            check (all (isinstance (t, dict) and t.get ("kind") == "tick" for t in r),
                   "a batch item that is not a tick")


@tap.case ("codec_dump: every status validates against status.schema.json")
def t_dump_status (ctx):
    records = check_all (ctx, lambda r: isinstance (r, dict) and r.get ("kind") == "status",
                         "status", "statuses")
    for r in records:
        if isinstance (r, dict) and r.get ("kind") == "status":
            n, off, total = len (r ["symbols"]), r ["symbols_offset"], r ["symbols_total"]
            if total == 0:
                check (n == 0 and off == 0, "symbols_total 0 (not sent) with %d symbols at %d"
                       % (n, off))
            else:
                check (off + n <= total, "symbols %d..%d past symbols_total %d" % (off, off + n, total))


async def setup (tap):
    return types.SimpleNamespace ()


if __name__ == "__main__":
    tap.run (setup)
