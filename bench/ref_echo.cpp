// The reference: the least work a one-thread edge-triggered epoll echo server can do per
// message. No buffering beyond what a short write leaves over, no limits, no logging.
// Used only by the benchmark (docs/BENCHMARKS.md) as the bar pisockd --mode echo is held to.
//
//   ref_echo PORT

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

struct Conn {
    int fd;
    std::string pending; // what a short write left over
};

void closeConn(Conn *c)
{
    ::close(c->fd);
    delete c;
}

// Echoes until EAGAIN; false if the connection is finished.
bool serve(Conn *c, char *buf, std::size_t size)
{
    if (!c->pending.empty()) {
        const ssize_t n = ::send(c->fd, c->pending.data(), c->pending.size(), MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN;
        c->pending.erase(0, static_cast<std::size_t>(n));
        if (!c->pending.empty())
            return true; // wait for EPOLLOUT; do not read more meanwhile
    }
    for (;;) {
        const ssize_t n = ::recv(c->fd, buf, size, 0);
        if (n == 0)
            return false;
        if (n < 0)
            return errno == EAGAIN;
        const ssize_t w = ::send(c->fd, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN)
            return false;
        const std::size_t sent = w < 0 ? 0 : static_cast<std::size_t>(w);
        if (sent < static_cast<std::size_t>(n)) {
            c->pending.assign(buf + sent, static_cast<std::size_t>(n) - sent);
            return true;
        }
        if (static_cast<std::size_t>(n) < size)
            return true; // short read: drained, ET will tell us about more
    }
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: ref_echo PORT\n");
        return 2;
    }
    const int lfd = ::socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, zero = 0;
    ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ::setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(static_cast<std::uint16_t>(std::atoi(argv[1])));
    addr.sin6_addr = in6addr_any;
    if (::bind(lfd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0 ||
        ::listen(lfd, 511) != 0) {
        std::perror("ref_echo: bind/listen");
        return 1;
    }
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.ptr = nullptr; // the listener
    ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

    static char buf[64 * 1024];
    epoll_event events[256];
    for (;;) {
        const int n = ::epoll_wait(ep, events, 256, -1);
        for (int i = 0; i < n; ++i) {
            auto *c = static_cast<Conn *>(events[i].data.ptr);
            if (!c) {
                for (;;) {
                    const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    epoll_event cev{};
                    cev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
                    cev.data.ptr = new Conn{ fd, {} };
                    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            if (!serve(c, buf, sizeof(buf)))
                closeConn(c);
        }
    }
}
