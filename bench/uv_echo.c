/* A plain libuv echo server, written the way libuv's own examples do it: what a user who
 * picks libuv would run. Benchmark comparison only (docs/BENCHMARKS.md).
 *
 *   uv_echo PORT
 */
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

static uv_loop_t *loop;

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
} write_req_t;

static void on_close(uv_handle_t *handle)
{
    free(handle);
}

static void after_write(uv_write_t *req, int status)
{
    write_req_t *wr = (write_req_t *)req;
    free(wr->buf.base);
    free(wr);
    (void)status;
}

static void alloc_buffer(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)handle;
    buf->base = malloc(suggested);
    buf->len = suggested;
}

static void on_read(uv_stream_t *client, ssize_t nread, const uv_buf_t *buf)
{
    if (nread > 0) {
        write_req_t *req = malloc(sizeof(*req));
        req->buf = uv_buf_init(buf->base, (unsigned)nread);
        uv_write(&req->req, client, &req->buf, 1, after_write);
        return;
    }
    if (nread < 0)
        uv_close((uv_handle_t *)client, on_close);
    free(buf->base);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    uv_tcp_t *client = malloc(sizeof(*client));
    uv_tcp_init(loop, client);
    if (uv_accept(server, (uv_stream_t *)client) == 0) {
        uv_tcp_nodelay(client, 1);
        uv_read_start((uv_stream_t *)client, alloc_buffer, on_read);
    } else {
        uv_close((uv_handle_t *)client, on_close);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: uv_echo PORT\n");
        return 2;
    }
    loop = uv_default_loop();
    uv_tcp_t server;
    uv_tcp_init(loop, &server);
    struct sockaddr_in6 addr;
    uv_ip6_addr("::", atoi(argv[1]), &addr);
    uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    int r = uv_listen((uv_stream_t *)&server, 511, on_connection);
    if (r) {
        fprintf(stderr, "uv_echo: listen: %s\n", uv_strerror(r));
        return 1;
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
