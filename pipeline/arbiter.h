//  arbiter - picks one provider per symbol and publishes the ALL stream
//
//  Subscribes TM_BUS_NORM (ticks and provider status), binds TM_BUS_MD (PUB). Which provider
//  feeds each symbol's ALL stream, and which of its ticks go out, pipeline/failover.c decides
//  (its rules are in failover.h); the arbiter republishes those ticks as stream ALL with the
//  stream's own gap-free per-symbol seq, and FAILOVER / GAP events on event.ALL.<symbol>|.
//  args: a tm_config_t * (borrowed). Pipe commands: $TERM -> exit.

#ifndef TM_ARBITER_H_INCLUDED
#define TM_ARBITER_H_INCLUDED

void
    tm_arbiter_actor (zsock_t *pipe, void *args);

#endif
