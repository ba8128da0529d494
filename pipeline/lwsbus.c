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
