//  sim - the simulator provider actor: a tm_market_t published as raw ticks at a set rate
//
//  args: a tm_provider_config_t * (borrowed; must outlive the actor).
//  Publishes raw ticks on TM_BUS_RAW (connects; the normalizer binds) under its instance
//  name, and a status heartbeat once a second with its symbol universe.
//  Pipe commands: $TERM -> exit.

#ifndef TM_SIM_H_INCLUDED
#define TM_SIM_H_INCLUDED

void
    tm_sim_actor (zsock_t *pipe, void *args);

#endif
