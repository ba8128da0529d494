//  lwsbus - a ZeroMQ socket in a libwebsockets loop (see lwsbus.h)

#include "tickmux.h"
#include <libwebsockets.h>
#include <unistd.h>
#include "lwsbus.h"

int
tm_lws_adopt (struct lws_vhost *vhost, zsock_t *sock, const char *protocol)
{
    lws_sock_file_fd_type fd;
    fd.filefd = dup (zsock_fd (sock));
    if (fd.filefd < 0)
        return -1;
    struct lws *wsi = lws_adopt_descriptor_vhost (vhost, LWS_ADOPT_RAW_FILE_DESC, fd, protocol,
                                                  NULL);
    if (!wsi) {
        close (fd.filefd);
        return -1;
    }
    lws_set_opaque_user_data (wsi, sock);
    return 0;
}

int
tm_lws_write_next (struct lws *wsi, zlistx_t *outbox)
{
    char *text = (char *) zlistx_first (outbox);
    if (!text)
        return 0;
    size_t len = strlen (text);
    unsigned char *frame = (unsigned char *) malloc (LWS_PRE + len);
    assert (frame);
    memcpy (frame + LWS_PRE, text, len);
    int rc = lws_write (wsi, frame + LWS_PRE, len, LWS_WRITE_TEXT);
    free (frame);
    zlistx_delete (outbox, zlistx_cursor (outbox));
    if (rc < (int) len)
        return -1;
    if (zlistx_size (outbox))
        lws_callback_on_writable (wsi);
    return 0;
}

struct lws_context *
tm_lws_client_new (const struct lws_protocols *protocols, void *user, struct lws_vhost **vhost)
{
    struct lws_context_creation_info info;
    memset (&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.user = user;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    struct lws_context *context = lws_create_context (&info);
    if (!context)
        return NULL;
    *vhost = lws_create_vhost (context, &info);
    if (!*vhost) {
        lws_context_destroy (context);
        return NULL;
    }
    return context;
}
