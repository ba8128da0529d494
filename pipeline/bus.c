//  bus - topic construction (see bus.h)

#include "tickmux.h"
#include <stdarg.h>

int
tm_bus_topic (char *buf, size_t size, const char *prefix, const char *stream,
              const char *symbol)
{
    assert (buf && prefix && stream);
    int len = symbol
        ? snprintf (buf, size, "%s%s.%s%c", prefix, stream, symbol, TM_SYMBOL_END)
        : snprintf (buf, size, "%s%s.", prefix, stream);
    return (len < 0 || (size_t) len >= size) ? -1 : len;
}

int
tm_actor_handshake (zsock_t *pipe, tm_actor_start_fn *start, void *self)
{
    zsock_signal (pipe, 0);
    bool terminated = false;
    while (!terminated) {
        char *command = tm_actor_command (pipe, &terminated);
        bool go = command && streq (command, "START");
        free (command);
        if (go) {
            int rc = start (self);
            zsock_signal (pipe, rc == 0 ? 0 : 1);
            return rc == 0 ? 0 : -1;
        }
    }
    return -1;
}

int
tm_actor_start (zactor_t *actor)
{
    if (zstr_send (actor, "START"))
        return -1;
    return zsock_wait (actor) == 0 ? 0 : -1;
}

char *
tm_actor_command (zsock_t *pipe, bool *terminated)
{
    char *command = zstr_recv (pipe);
    if (!command || streq (command, "$TERM")) {
        free (command);
        *terminated = true;
        return NULL;
    }
    if (streq (command, "PING")) {
        //  Main's liveness check (the systemd watchdog): answered here for every actor
        free (command);
        zstr_send (pipe, "PONG");
        return NULL;
    }
    return command;
}

int
tm_bus_send (zsock_t *pub, const char *topic, const void *body, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, topic);
    zmsg_addmem (msg, body, size);
    if (zmsg_send (&msg, pub) == -1) {
        zmsg_destroy (&msg);
        return -1;
    }
    return 0;
}

static void
s_free_counter (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

zhashx_t *
tm_seqs_new (void)
{
    zhashx_t *seqs = zhashx_new ();
    assert (seqs);
    zhashx_set_destructor (seqs, s_free_counter);
    return seqs;
}

uint64_t
tm_seqs_next (zhashx_t *seqs, const char *key)
{
    uint64_t *seq = (uint64_t *) zhashx_lookup (seqs, key);
    if (!seq) {
        seq = (uint64_t *) zmalloc (sizeof (uint64_t));
        assert (seq);
        zhashx_insert (seqs, key, seq);
    }
    return ++*seq;
}

bool
tm_bus_topic_is (zframe_t *topic, const char *prefix)
{
    size_t len = strlen (prefix);
    return zframe_size (topic) >= len && memcmp (zframe_data (topic), prefix, len) == 0;
}

void
tm_bus_frame_free (void **item_p)
{
    zframe_t *frame = (zframe_t *) *item_p;
    zframe_destroy (&frame);
    *item_p = NULL;
}

void
tm_bus_item_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

zsock_t *
tm_bus_pub_new (void)
{
    zsock_t *pub = zsock_new (ZMQ_PUB);
    assert (pub);
    zsock_set_sndhwm (pub, TM_BUS_HWM);
    return pub;
}

zsock_t *
tm_bus_sub_new (const char *topic, ...)
{
    zsock_t *sub = zsock_new (ZMQ_SUB);
    assert (sub);
    zsock_set_rcvhwm (sub, TM_BUS_HWM);
    va_list args;
    va_start (args, topic);
    for (const char *t = topic; t; t = va_arg (args, const char *))
        zsock_set_subscribe (sub, t);
    va_end (args);
    return sub;
}

int64_t
tm_backoff_ms (unsigned attempts, int64_t base_ms, int64_t cap_ms)
{
    int64_t delay = base_ms;
    for (unsigned i = 0; i < attempts && delay < cap_ms; i++)
        delay *= 2;
    if (delay > cap_ms)
        delay = cap_ms;
    return delay * 3 / 4 + (int64_t) (random () % (delay / 2 + 1));
}

void
tm_url_append (char *out, size_t size, const char *text)
{
    size_t used = strlen (out);
    for (; *text && used + 4 < size; text++) {
        unsigned char c = (unsigned char) *text;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
        ||  c == '-' || c == '_' || c == '.' || c == '~')
            out [used++] = (char) c;
        else
            used += (size_t) snprintf (out + used, size - used, "%%%02X", c);
    }
    out [used] = '\0';
}
