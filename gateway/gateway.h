//  gateway - the libwebsockets server: client protocol on /ws, health, stats
//
//  Owns the lws_context; its pipe and its SUB sockets on TM_BUS_NORM and TM_BUS_MD join the
//  lws loop as dup()s of their ZMQ_FD. Each tick is encoded to JSON once, and the same frame
//  goes to every subscriber through a bounded per-client queue.
//  args: a tm_config_t * (borrowed). Signals 0 when listening, 1 when it cannot bind.
//  Pipe commands: PORT -> "PORT" number | $TERM -> exit.

#ifndef TM_GATEWAY_H_INCLUDED
#define TM_GATEWAY_H_INCLUDED

void
    tm_gateway_actor (zsock_t *pipe, void *args);

#endif
