//  arbiter - picks one provider per symbol and publishes the ALL stream
//
//  Subscribes TM_BUS_NORM (ticks and provider status), binds TM_BUS_MD (PUB). For each tick
//  whose provider is the one tm_routes_pick chooses for its symbol (the first CONNECTED one
//  on the route), republishes it as stream ALL with the ALL stream's own gap-free per-symbol
//  seq. Health beyond connection state, de-duplication and hysteresis come with issue 5.
//  args: a tm_config_t * (borrowed). Pipe commands: $TERM -> exit.

#ifndef TM_ARBITER_H_INCLUDED
#define TM_ARBITER_H_INCLUDED

void
    tm_arbiter_actor (zsock_t *pipe, void *args);

#endif
