//  rest - HTTP client actor on libcurl multi (see rest.h)

#include "tickmux.h"
#include <curl/curl.h>
#include <poll.h>
#include "rest.h"

typedef struct {
    char *id;                       //  Caller's id (owned)
    CURL *easy;                     //  The transfer
    struct curl_slist *headers;     //  Request headers (owned)
    char *body;                     //  Request body (owned), sent by POST/PUT
    char *data;                     //  Response so far (owned)
    size_t size;                    //  Bytes in data
    size_t alloc;                   //  Bytes allocated for data
    bool too_large;                 //  The response passed TM_REST_BODY_MAX
    char error [CURL_ERROR_SIZE];   //  libcurl's words when it fails
    void *handle;                   //  Our entry in self->active
} s_transfer_t;

typedef struct {
    zsock_t *pipe;                  //  Actor command pipe
    CURLM *multi;                   //  All transfers
    size_t running;                 //  Transfers in the multi handle
    zlistx_t *queue;                //  zmsg_t * requests waiting for a slot (owned)
    zlistx_t *active;               //  s_transfer_t * in the multi handle (owned)
    bool terminated;                //  $TERM received
} self_t;

static size_t
s_write (char *ptr, size_t size, size_t nmemb, void *userdata)
{
    s_transfer_t *t = (s_transfer_t *) userdata;
    size_t n = size * nmemb;
    if (t->size + n > TM_REST_BODY_MAX) {
        t->too_large = true;
        return 0;                   //  Makes libcurl fail the transfer with CURLE_WRITE_ERROR
    }
    if (t->size + n + 1 > t->alloc) {
        size_t alloc = t->alloc ? t->alloc : 16384;
        while (alloc < t->size + n + 1)
            alloc *= 2;
        char *data = (char *) realloc (t->data, alloc);
        if (!data)
            return 0;
        t->data = data;
        t->alloc = alloc;
    }
    memcpy (t->data + t->size, ptr, n);
    t->size += n;
    return n;
}

static void
s_transfer_destroy (s_transfer_t **t_p)
{
    s_transfer_t *t = *t_p;
    if (t) {
        if (t->easy)
            curl_easy_cleanup (t->easy);
        curl_slist_free_all (t->headers);
        free (t->id);
        free (t->body);
        free (t->data);
        free (t);
        *t_p = NULL;
    }
}

static void
s_reply (self_t *self, const char *id, long status, const void *body, size_t size,
         const char *error)
{
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "RESPONSE");
    zmsg_addstr (reply, id);
    zmsg_addstrf (reply, "%ld", status);
    zmsg_addmem (reply, body, size);
    zmsg_addstr (reply, error ? error : "");
    if (zmsg_send (&reply, self->pipe) == -1)
        zmsg_destroy (&reply);
}

//  Start a request message [REQUEST][id][method][url][headers][body]; it is ours to free.
static void
s_start (self_t *self, zmsg_t **msg_p)
{
    zmsg_t *msg = *msg_p;
    *msg_p = NULL;
    char *verb = zmsg_popstr (msg);
    char *id = zmsg_popstr (msg);
    char *method = zmsg_popstr (msg);
    char *url = zmsg_popstr (msg);
    char *headers = zmsg_popstr (msg);
    zframe_t *body = zmsg_pop (msg);
    zmsg_destroy (&msg);
    s_transfer_t *t = (s_transfer_t *) zmalloc (sizeof (s_transfer_t));
    assert (t);
    t->id = id ? id : strdup ("");
    id = NULL;
    if (!method || !url || !headers) {
        s_reply (self, t->id, 0, "", 0, "malformed request (need id, method, url, headers, body)");
        goto done;
    }
    t->easy = curl_easy_init ();
    assert (t->easy);
    curl_easy_setopt (t->easy, CURLOPT_URL, url);
    curl_easy_setopt (t->easy, CURLOPT_PRIVATE, t);
    curl_easy_setopt (t->easy, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt (t->easy, CURLOPT_WRITEDATA, t);
    curl_easy_setopt (t->easy, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt (t->easy, CURLOPT_ACCEPT_ENCODING, "");   //  gzip, deflate, decoded
    curl_easy_setopt (t->easy, CURLOPT_TIMEOUT_MS, (long) TM_REST_TIMEOUT_MS);
    curl_easy_setopt (t->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt (t->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (t->easy, CURLOPT_USERAGENT, "tickmux/" TM_VERSION);
    for (char *line = strtok (headers, "\n"); line; line = strtok (NULL, "\n"))
        if (*line)
            t->headers = curl_slist_append (t->headers, line);
    curl_easy_setopt (t->easy, CURLOPT_HTTPHEADER, t->headers);
    if (streq (method, "POST") || streq (method, "PUT")) {
        size_t size = body ? zframe_size (body) : 0;
        t->body = (char *) malloc (size + 1);
        assert (t->body);
        if (size)
            memcpy (t->body, zframe_data (body), size);
        curl_easy_setopt (t->easy, CURLOPT_POSTFIELDS, t->body);
        curl_easy_setopt (t->easy, CURLOPT_POSTFIELDSIZE, (long) size);
        if (streq (method, "PUT"))
            curl_easy_setopt (t->easy, CURLOPT_CUSTOMREQUEST, "PUT");
    }
    else
    if (streq (method, "DELETE"))
        curl_easy_setopt (t->easy, CURLOPT_CUSTOMREQUEST, "DELETE");
    else
    if (!streq (method, "GET")) {
        s_reply (self, t->id, 0, "", 0, "unknown method");
        goto done;
    }
    if (curl_multi_add_handle (self->multi, t->easy) == CURLM_OK) {
        self->running++;
        t->handle = zlistx_add_end (self->active, t);
        t = NULL;                   //  In self->active until it completes
    }
    else
        s_reply (self, t->id, 0, "", 0, "cannot start the transfer");
done:
    s_transfer_destroy (&t);
    free (verb);
    free (method);
    free (url);
    free (headers);
    zframe_destroy (&body);
}

static void
s_handle_pipe (self_t *self)
{
    while (!self->terminated && (zsock_events (self->pipe) & ZMQ_POLLIN)) {
        zmsg_t *msg = zmsg_recv (self->pipe);
        if (!msg) {
            self->terminated = true;
            return;
        }
        char *verb = zmsg_popstr (msg);
        if (verb && streq (verb, "REQUEST")) {
            zmsg_pushstr (msg, verb);
            if (self->running < TM_REST_INFLIGHT)
                s_start (self, &msg);
            else
                zlistx_add_end (self->queue, msg);
            msg = NULL;
        }
        else
        if (!verb || streq (verb, "$TERM"))
            self->terminated = true;
        else
            zsys_error ("rest: unknown pipe command '%s'", verb);
        free (verb);
        zmsg_destroy (&msg);
    }
}

static void
s_handle_done (self_t *self)
{
    CURLMsg *info;
    int left;
    while ((info = curl_multi_info_read (self->multi, &left))) {
        if (info->msg != CURLMSG_DONE)
            continue;
        s_transfer_t *t = NULL;
        curl_easy_getinfo (info->easy_handle, CURLINFO_PRIVATE, (char **) &t);
        CURLcode result = info->data.result;
        curl_multi_remove_handle (self->multi, info->easy_handle);
        zlistx_delete (self->active, t->handle);
        self->running--;
        if (t->too_large) {
            char error [96];
            snprintf (error, sizeof error, "response larger than %d bytes", TM_REST_BODY_MAX);
            s_reply (self, t->id, 0, "", 0, error);
        }
        else
        if (result != CURLE_OK)
            s_reply (self, t->id, 0, "", 0, t->error [0] ? t->error : curl_easy_strerror (result));
        else {
            long status = 0;
            curl_easy_getinfo (t->easy, CURLINFO_RESPONSE_CODE, &status);
            s_reply (self, t->id, status, t->data ? t->data : "", t->size, NULL);
        }
        s_transfer_destroy (&t);
    }
    while (self->running < TM_REST_INFLIGHT && zlistx_size (self->queue)) {
        zmsg_t *msg = (zmsg_t *) zlistx_detach (self->queue, NULL);
        s_start (self, &msg);
    }
}

static void
s_queue_free (void **item_p)
{
    zmsg_destroy ((zmsg_t **) item_p);
}

void
tm_rest_actor (zsock_t *pipe, void *args)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->multi = curl_multi_init ();
    assert (self->multi);
    self->queue = zlistx_new ();
    zlistx_set_destructor (self->queue, s_queue_free);
    self->active = zlistx_new ();
    zsock_signal (pipe, 0);
    while (!self->terminated) {
        //  The pipe's ZMQ_FD joins curl's own poll; it is edge-like, so look at the pipe's
        //  events after every wake-up rather than trusting the fd's state.
        struct curl_waitfd extra = { .fd = zsock_fd (pipe), .events = CURL_WAIT_POLLIN };
        s_handle_pipe (self);
        if (self->terminated)
            break;
        int still;
        curl_multi_perform (self->multi, &still);
        s_handle_done (self);
        int numfds;
        long timeout = 1000;
        curl_multi_timeout (self->multi, &timeout);
        if (timeout < 0 || timeout > 1000)
            timeout = 1000;
        if (!(zsock_events (pipe) & ZMQ_POLLIN))
            curl_multi_poll (self->multi, &extra, 1, (int) timeout, &numfds);
    }
    //  Abandon what is in flight
    for (s_transfer_t *t = (s_transfer_t *) zlistx_first (self->active); t;
         t = (s_transfer_t *) zlistx_next (self->active)) {
        curl_multi_remove_handle (self->multi, t->easy);
        s_transfer_destroy (&t);
    }
    zlistx_destroy (&self->active);
    curl_multi_cleanup (self->multi);
    zlistx_destroy (&self->queue);
    free (self);
}
