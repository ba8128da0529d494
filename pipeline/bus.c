//  bus - topic construction (see bus.h)

#include "tickmux.h"

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
tm_actor_wait_start (zsock_t *pipe)
{
    while (true) {
        char *command = zstr_recv (pipe);
        if (!command)
            return -1;
        bool start = streq (command, "START");
        bool term = streq (command, "$TERM");
        free (command);
        if (start)
            return 0;
        if (term)
            return -1;
    }
}

int
tm_actor_start (zactor_t *actor)
{
    if (zstr_send (actor, "START"))
        return -1;
    return zsock_wait (actor) == 0 ? 0 : -1;
}
