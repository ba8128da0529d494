//  lwsbus - a ZeroMQ socket in a libwebsockets loop (STYLE.md 7)
//
//  The actors that own an lws_context (the gateway, the connectors) put their pipe and bus
//  sockets into its loop with tm_lws_adopt. Include <libwebsockets.h> before this header.

#ifndef TM_LWSBUS_H_INCLUDED
#define TM_LWSBUS_H_INCLUDED

//  Adopt a dup () of sock's ZMQ_FD as a raw file on vhost under protocol, with sock as the
//  wsi's opaque user data: LWS_CALLBACK_RAW_RX_FILE then means "look at sock". lws closes what
//  it adopted, and libzmq aborts if its own fd is closed: hence the dup. The fd is edge-like,
//  so the callback must read while zsock_events (sock) says ZMQ_POLLIN. Returns 0 or -1.
int
    tm_lws_adopt (struct lws_vhost *vhost, zsock_t *sock, const char *protocol);

//  A client-only lws context (no listener; TLS initialised for wss://) with user as its
//  context user, and its one vhost in *vhost. Returns the context (caller destroys it with
//  lws_context_destroy), or NULL when either cannot be made.
struct lws_context *
    tm_lws_client_new (const struct lws_protocols *protocols, void *user,
                       struct lws_vhost **vhost);

//  On a client's WRITEABLE callback: send the oldest text frame of outbox (char * strings the
//  list owns, destructor zstr_free), ask for the next callback if more are queued. Returns 0,
//  or -1 when the write failed (the caller returns it to close the connection).
int
    tm_lws_write_next (struct lws *wsi, zlistx_t *outbox);

#endif
