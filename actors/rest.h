//  rest - an HTTP client actor on libcurl's multi interface, so no connector ever blocks on a
//  REST call
//
//  The actor that needs REST (the Kite connector; the n8n bridge later) creates one with
//  zactor_new (tm_rest_actor, NULL) and talks to it over the actor pipe:
//
//    request  [REQUEST][id][method][url][headers][body]
//             method GET, POST, PUT or DELETE; headers "Name: value" lines joined by '\n' (may
//             be ""); body sent as is for POST/PUT (may be empty). id is the caller's, echoed.
//    reply    [RESPONSE][id][status][body][error]
//             status the HTTP status as text ("0" when no response came: then error says why);
//             body the response, decompressed (gzip/deflate), at most TM_REST_BODY_MAX bytes,
//             a larger one fails with status "0" and error "response larger than ...".
//    $TERM    abandon what is in flight and exit.
//
//  Replies come back in completion order, not request order. At most TM_REST_INFLIGHT
//  requests run at once; more wait in a queue.

#ifndef TM_REST_H_INCLUDED
#define TM_REST_H_INCLUDED

#define TM_REST_BODY_MAX        (64 * 1024 * 1024)
#define TM_REST_INFLIGHT        8
#define TM_REST_TIMEOUT_MS      30000

void
    tm_rest_actor (zsock_t *pipe, void *args);

#endif
