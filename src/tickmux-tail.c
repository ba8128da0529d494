//  tickmux-tail - print the public ZeroMQ feed as JSON lines (schemas/feed.md)
//
//  tickmux-tail [--endpoint tcp://HOST:5556] [--topic PREFIX]... [--count N] [--stats]
//               [--server-cert FILE --cert BASE]      (a CURVE feed)
//  tickmux-tail --make-cert BASE                       (write BASE and BASE_secret)
//  Each message is one line {"topic":"md.ALL.NIFTY-I|","body":{...}}, the body converted from
//  msgpack as it is. --stats prints instead, once a second, the messages, their rate, the
//  topics seen and the gaps (jumps in a tick topic's seq). --count N exits after N lines.
//  Bodies over TM_BODY_MAX or nested deeper than S_DEPTH_MAX are counted, not printed.

#include "tickmux.h"
#include "upstream.h"
#include <jansson.h>

#define S_DEPTH_MAX     16              //  Nesting of maps and arrays we follow

static tm_tick_t s_tick;                //  Decode buffer of --stats

static json_t *
s_to_json (const msgpack_object *o, int depth)
{
    if (depth > S_DEPTH_MAX)
        return NULL;
    switch (o->type) {
        case MSGPACK_OBJECT_NIL:                return json_null ();
        case MSGPACK_OBJECT_BOOLEAN:            return json_boolean (o->via.boolean);
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            return o->via.u64 > INT64_MAX ? json_real ((double) o->via.u64)
                                          : json_integer ((json_int_t) o->via.u64);
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:   return json_integer (o->via.i64);
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            return isfinite (o->via.f64) ? json_real (o->via.f64) : json_null ();
        case MSGPACK_OBJECT_STR:
            return json_stringn (o->via.str.ptr, o->via.str.size);
        case MSGPACK_OBJECT_ARRAY: {
            json_t *out = json_array ();
            for (uint32_t i = 0; i < o->via.array.size; i++) {
                json_t *item = s_to_json (&o->via.array.ptr [i], depth + 1);
                if (!item) {
                    json_decref (out);
                    return NULL;
                }
                json_array_append_new (out, item);
            }
            return out;
        }
        case MSGPACK_OBJECT_MAP: {
            json_t *out = json_object ();
            for (uint32_t i = 0; i < o->via.map.size; i++) {
                const msgpack_object_kv *kv = &o->via.map.ptr [i];
                json_t *value = kv->key.type == MSGPACK_OBJECT_STR
                              ? s_to_json (&kv->val, depth + 1) : NULL;
                char key [256];
                if (!value || kv->key.via.str.size >= sizeof key) {
                    json_decref (value);
                    json_decref (out);
                    return NULL;
                }
                memcpy (key, kv->key.via.str.ptr, kv->key.via.str.size);
                key [kv->key.via.str.size] = '\0';
                json_object_set_new (out, key, value);
            }
            return out;
        }
        default:
            return NULL;                //  bin, ext: not in tickmux bodies
    }
}

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: tickmux-tail [--endpoint tcp://HOST:5556] [--topic PREFIX]... "
                  "[--count N] [--stats] [--server-cert FILE --cert BASE]\n"
                  "       tickmux-tail --make-cert BASE   (a CURVE key pair: BASE, BASE_secret)\n"
                  "Prints the tickmux feed as JSON lines (schemas/feed.md); --stats prints "
                  "rates instead.\n");
}

int
main (int argc, char *argv [])
{
    const char *endpoint = TM_DEFAULT_FEED_BIND;
    const char *topics [64];
    size_t topics_count = 0;
    long count = 0;
    bool stats = false;
    const char *server_cert = NULL, *cert_path = NULL, *make_cert = NULL;
    for (int i = 1; i < argc; i++) {
        bool more = i + 1 < argc;
        if (streq (argv [i], "--endpoint") && more)
            endpoint = argv [++i];
        else
        if (streq (argv [i], "--topic") && more && topics_count < 64)
            topics [topics_count++] = argv [++i];
        else
        if (streq (argv [i], "--count") && more) {
            char *end;
            count = strtol (argv [++i], &end, 10);
            if (*end || count < 0) {
                fprintf (stderr, "tickmux-tail: --count '%s': expected a number\n", argv [i]);
                return 2;
            }
        }
        else
        if (streq (argv [i], "--stats"))
            stats = true;
        else
        if (streq (argv [i], "--server-cert") && more)
            server_cert = argv [++i];
        else
        if (streq (argv [i], "--cert") && more)
            cert_path = argv [++i];
        else
        if (streq (argv [i], "--make-cert") && more)
            make_cert = argv [++i];
        else
        if (streq (argv [i], "--help")) {
            s_usage (stdout);
            return 0;
        }
        else {
            s_usage (stderr);
            return 2;
        }
    }
    zsys_init ();
    if (make_cert) {
        //  A key pair for a CURVE feed: the public file goes to the other side (the core's
        //  curve_clients directory, or a client's --server-cert); the _secret stays here
        zcert_t *cert = zcert_new ();
        int rc = cert ? zcert_save (cert, make_cert) : -1;
        if (rc == 0)
            printf ("%s\n", zcert_public_txt (cert));
        else
            fprintf (stderr, "tickmux-tail: cannot write %s and %s_secret\n", make_cert, make_cert);
        zcert_destroy (&cert);
        return rc ? 1 : 0;
    }
    if (!server_cert != !cert_path) {
        fprintf (stderr, "tickmux-tail: --server-cert and --cert go together\n");
        return 2;
    }
    zsock_t *sub = zsock_new (ZMQ_SUB);
    assert (sub);
    char err [1024];
    if (server_cert && tm_upstream_curve (sub, cert_path, server_cert, err, sizeof err)) {
        fprintf (stderr, "tickmux-tail: %s\n", err);
        zsock_destroy (&sub);
        return 1;
    }
    zsock_set_rcvhwm (sub, 100000);
    if (topics_count == 0)
        zsock_set_subscribe (sub, "");
    for (size_t i = 0; i < topics_count; i++)
        zsock_set_subscribe (sub, topics [i]);
    if (zsock_connect (sub, "%s", endpoint)) {
        fprintf (stderr, "tickmux-tail: cannot connect to '%s'\n", endpoint);
        zsock_destroy (&sub);
        return 1;
    }
    zhashx_t *seqs = zhashx_new ();     //  tick topic -> last seq (as a pointer-sized value)
    uint64_t messages = 0, window = 0, gaps = 0, unreadable = 0;
    long printed = 0;
    int64_t next_stats = zclock_mono () + 1000;
    zpoller_t *poller = zpoller_new (sub, NULL);
    while (!zsys_interrupted && (count == 0 || printed < count)) {
        int64_t wait = stats ? next_stats - zclock_mono () : 1000;
        zsock_t *which = (zsock_t *) zpoller_wait (poller, wait > 0 ? (int) wait : 0);
        if (which == sub) {
            zmsg_t *msg = zmsg_recv (sub);
            zframe_t *topic = msg ? zmsg_first (msg) : NULL;
            zframe_t *body = msg ? zmsg_next (msg) : NULL;
            if (body && zframe_size (body) <= TM_BODY_MAX) {
                messages++;
                window++;
                char *name = zframe_strdup (topic);
                bool is_tick = strncmp (name, TM_TOPIC_MD, strlen (TM_TOPIC_MD)) == 0;
                json_t *doc = NULL;
                int64_t seq = -1;
                if (stats && is_tick) {
                    //  Rates only: the tick decoder, no JSON
                    size_t n;
                    if (tm_tick_decode (zframe_data (body), zframe_size (body), &s_tick, 1, &n) == 0)
                        seq = (int64_t) s_tick.seq;
                }
                else {
                    msgpack_unpacked unpacked;
                    msgpack_unpacked_init (&unpacked);
                    if (msgpack_unpack_next (&unpacked, (const char *) zframe_data (body),
                                             zframe_size (body), NULL) == MSGPACK_UNPACK_SUCCESS)
                        doc = s_to_json (&unpacked.data, 0);
                    msgpack_unpacked_destroy (&unpacked);
                    json_t *value = doc ? json_object_get (doc, "seq") : NULL;
                    if (json_is_integer (value))
                        seq = json_integer_value (value);
                }
                if (seq >= 0 && is_tick) {
                    uintptr_t now = (uintptr_t) seq;
                    uintptr_t before = (uintptr_t) zhashx_lookup (seqs, name);
                    if (before && now > before + 1)
                        gaps += now - before - 1;
                    zhashx_update (seqs, name, (void *) now);
                }
                if (stats) {
                    if (is_tick && seq < 0)
                        unreadable++;
                }
                else
                if (!doc)
                    unreadable++;
                else {
                    json_t *line = json_pack ("{s:s, s:O}", "topic", name, "body", doc);
                    char *text = line ? json_dumps (line, JSON_COMPACT | JSON_ENSURE_ASCII
                                                          | JSON_REAL_PRECISION (15)) : NULL;
                    if (text) {
                        puts (text);
                        fflush (stdout);
                        printed++;
                    }
                    free (text);
                    json_decref (line);
                }
                json_decref (doc);
                free (name);
            }
            else
            if (msg)
                unreadable++;
            zmsg_destroy (&msg);
        }
        if (stats && zclock_mono () >= next_stats) {
            printf ("{\"messages\":%" PRIu64 ",\"rate\":%" PRIu64 ",\"topics\":%zu,\"gaps\":%" PRIu64
                    ",\"unreadable\":%" PRIu64 "}\n", messages, window, zhashx_size (seqs), gaps,
                    unreadable);
            fflush (stdout);
            window = 0;
            printed++;
            next_stats += 1000;
        }
    }
    zpoller_destroy (&poller);
    zhashx_destroy (&seqs);
    zsock_destroy (&sub);
    return 0;
}
