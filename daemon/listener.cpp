#include "listener.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <system_error>
#include <unistd.h>

#include "refusal.h"

namespace pisock {

namespace {

constexpr int kBacklog = 511; // nginx and redis: the kernel clamps it to somaxconn
constexpr int kAcceptsPerWakeup = 64;

[[noreturn]] void fail(int err, const Endpoint &endpoint, const char *what)
{
    throw std::system_error(err, std::system_category(),
                            std::string("cannot ") + what + " " + endpoint.toString());
}

// A socket file left by a process that is gone is replaced, as nginx does. Only a refused
// connection (ECONNREFUSED: nobody listens behind the file) says it is gone; any other answer
// means in use: accepted, a full queue (EAGAIN), or an error such as EACCES, where the file
// may be another user's live socket, which must never be taken over. Non-blocking: a listener
// with a full queue must not freeze the loop (a reload runs in it) or --check.
void replaceStale(const Endpoint &endpoint, const sockaddr_un &addr, socklen_t len)
{
    struct stat st {
    };
    if (::lstat(addr.sun_path, &st) != 0 || !S_ISSOCK(st.st_mode))
        return; // nothing there, or not a socket: bind() says what is wrong
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!probe)
        fail(errno, endpoint, "create a socket to test");
    const int err =
            ::connect(probe.get(), reinterpret_cast<const sockaddr *>(&addr), len) == 0 ? 0 : errno;
    if (err == ECONNREFUSED) {
        ::unlink(addr.sun_path);
        return;
    }
    if (err == ENOENT)
        return; // gone meanwhile
    const std::string what = "cannot listen on " + endpoint.toString() + ": ";
    if (err == 0 || err == EAGAIN)
        throw std::system_error(EADDRINUSE, std::system_category(),
                                what + (err == 0 ? "another process listens on it"
                                                 : "another process listens on it (its queue "
                                                   "is full)"));
    throw std::system_error(err, std::system_category(),
                            what + "a socket file is there and a test connection to it failed, "
                                   "so it may be in use (pisockd replaces only a file that "
                                   "refuses connections)");
}

UniqueFd openUnix(const Endpoint &endpoint)
{
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, endpoint.path.data(), endpoint.path.size());
    if (addr.sun_path[0] == '@')
        addr.sun_path[0] = '\0'; // abstract namespace
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + endpoint.path.size() +
                                            (addr.sun_path[0] ? 1 : 0));

    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd)
        fail(errno, endpoint, "create a socket for");
    if (addr.sun_path[0])
        replaceStale(endpoint, addr, len);
    if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&addr), len) != 0)
        fail(errno, endpoint, "bind");
    return fd;
}

} // namespace

UniqueFd openListenSocket(const Endpoint &endpoint, bool dualStack, bool reusePort)
{
    UniqueFd fd;
    if (endpoint.kind == Endpoint::Kind::Unix) {
        fd = openUnix(endpoint);
    } else {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        const std::string port = std::to_string(endpoint.port);
        addrinfo *res = nullptr;
        const char *host = endpoint.host.empty() ? "::" : endpoint.host.c_str();
        if (int rc = ::getaddrinfo(host, port.c_str(), &hints, &res); rc != 0)
            throw std::system_error(EINVAL, std::system_category(),
                                    "cannot listen on " + endpoint.toString() + ": " +
                                            ::gai_strerror(rc));
        std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, ::freeaddrinfo);

        fd.reset(::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd)
            fail(errno, endpoint, "create a socket for");
        int one = 1;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (reusePort && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
            fail(errno, endpoint, "set SO_REUSEPORT on");
        if (res->ai_family == AF_INET6) {
            // "[::]" takes IPv4 too unless told otherwise; a specific IPv6 address never does.
            const bool any = IN6_IS_ADDR_UNSPECIFIED(
                    &reinterpret_cast<const sockaddr_in6 *>(res->ai_addr)->sin6_addr);
            int v6only = any && dualStack ? 0 : 1;
            ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
        }
        if (::bind(fd.get(), res->ai_addr, res->ai_addrlen) != 0)
            fail(errno, endpoint, "bind");
    }
    if (::listen(fd.get(), kBacklog) != 0)
        fail(errno, endpoint, "listen on");
    return fd;
}

std::string boundAddress(int fd)
{
    SocketAddress addr;
    if (::getsockname(fd, addr.get(), &addr.length) != 0)
        return "?";
    return formatAddress(addr);
}

void SpareFd::take() noexcept
{
    if (!fd_)
        fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

Listener::Listener(EventLoop &loop, UniqueFd fd, AcceptSink &sink, SpareFd &spare)
    : loop_(loop), fd_(std::move(fd)), sink_(sink), spare_(spare), address_(boundAddress(fd_.get()))
{
}

Listener::~Listener()
{
    close();
}

void Listener::start()
{
    // EPOLLEXCLUSIVE: a socket shared by several processes (one socket unit passed to
    // instances) wakes one of them per client, not all (the thundering herd).
    if (int err = loop_.add(fd_.get(), *this, EPOLLIN | EPOLLEXCLUSIVE); err < 0)
        throw std::system_error(-err, std::system_category(), "epoll_ctl(" + address_ + ")");
}

void Listener::close() noexcept
{
    if (!fd_)
        return;
    fd_.reset();
    if (!unlinkPath_.empty() && unlinkPath_[0] != '@')
        ::unlink(unlinkPath_.c_str());
}

bool Listener::shedOneConnection() noexcept
{
    // Out of descriptors: the pending client would keep the listener readable and ET would
    // never tell us again. Free the spare, accept, say why and close at once, take the spare
    // back.
    spare_.release();
    const int fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
        refuseNow(fd, sink_.busyLine(*this)); // as past --max-connections
        ::close(fd);
    }
    spare_.take();
    sink_.onAcceptError(*this, EMFILE);
    return fd >= 0;
}

void Listener::onIo(std::uint32_t) noexcept
{
    acceptSome();
}

void Listener::onResume() noexcept
{
    acceptSome();
}

void Listener::acceptSome() noexcept
{
    for (int i = 0; i < kAcceptsPerWakeup && fd_; ++i) {
        SocketAddress peer;
        UniqueFd client(
                ::accept4(fd_.get(), peer.get(), &peer.length, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (client) {
            sink_.onAccept(std::move(client), peer, *this);
            continue;
        }
        switch (errno) {
        case EAGAIN:
            stalled_ = false;
            return;
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
            continue;
        case EMFILE:
        case ENFILE:
            if (shedOneConnection())
                continue;
            stalled_ = true; // not even the reserve helped: the owner's timer retries
            return;
        default:
            sink_.onAcceptError(*this, errno);
            stalled_ = true; // ENOBUFS, ENOMEM...: try again on the next tick
            return;
        }
    }
    // Budget spent with clients possibly still queued: ET raises no new edge for them.
    if (fd_)
        loop_.defer(*this);
}

} // namespace pisock
