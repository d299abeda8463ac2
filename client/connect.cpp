#include "connect.h"

#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "i18n.h"
#include "mdns_hint.h"
#include "options.h"

namespace pisock {

namespace {

SocketAddress unixAddress(const std::string &path)
{
    SocketAddress a;
    auto *un = reinterpret_cast<sockaddr_un *>(&a.storage);
    un->sun_family = AF_UNIX;
    // parseEndpoint() checked that the path fits; '@' names the abstract namespace.
    std::memcpy(un->sun_path, path.data(), path.size());
    if (path.starts_with('@'))
        un->sun_path[0] = '\0';
    a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
                                      (path.starts_with('@') ? 0 : 1));
    return a;
}

using Clock = std::chrono::steady_clock;

// Waits for a non-blocking connect() to finish; returns 0, an errno, or ETIMEDOUT.
int finishConnect(int fd, std::optional<Clock::time_point> deadline)
{
    for (;;) {
        int waitMs = -1;
        if (deadline) {
            const auto left =
                    std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
            waitMs = static_cast<int>(std::max<long long>(left.count(), 0));
        }
        pollfd p{ fd, POLLOUT, 0 };
        const int n = ::poll(&p, 1, waitMs);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n == 0)
            return ETIMEDOUT;
        int err = 0;
        socklen_t len = sizeof(err);
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            return errno;
        return err;
    }
}

} // namespace

std::optional<std::vector<SocketAddress>> resolve(const Endpoint &endpoint, int family,
                                                  Failure &failure)
{
    if (endpoint.kind == Endpoint::Kind::Unix)
        return std::vector<SocketAddress>{ unixAddress(endpoint.path) };

    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo *list = nullptr;
    const std::string port = std::to_string(endpoint.port);
    const int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &list);
    if (rc != 0) {
        const std::string why = rc == EAI_SYSTEM ? localErrnoText(errno) : ::gai_strerror(rc);
        const char *format = family == AF_INET    ? "cannot resolve '{host}' (IPv4): {reason}"
                             : family == AF_INET6 ? "cannot resolve '{host}' (IPv6): {reason}"
                                                  : "cannot resolve '{host}': {reason}";
        failure = { kStatusNetwork,
                    trf(format, fmt::arg("host", endpoint.host), fmt::arg("reason", why)) };
        if (const auto hint = rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_AGAIN
                                      ? mdnsHint(endpoint.host)
                                      : std::nullopt)
            failure.reason += "; " + *hint;
        return std::nullopt;
    }
    std::vector<SocketAddress> addresses;
    for (const addrinfo *ai = list; ai; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(sockaddr_storage))
            continue;
        SocketAddress a;
        std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
        a.length = ai->ai_addrlen;
        addresses.push_back(a);
    }
    ::freeaddrinfo(list);
    return addresses;
}

UniqueFd connectAny(const std::vector<SocketAddress> &addresses,
                    std::optional<std::chrono::milliseconds> timeout, const std::string &name,
                    Failure &failure)
{
    bool allTimedOut = !addresses.empty();
    std::string lastError = tr("no address to connect to");
    for (const auto &address : addresses) {
        UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        int err = fd ? 0 : errno;
        if (fd && ::connect(fd.get(), address.get(), address.length) != 0) {
            err = errno;
            if (err == EINPROGRESS || err == EINTR) {
                std::optional<Clock::time_point> deadline;
                if (timeout)
                    deadline = Clock::now() + *timeout;
                err = finishConnect(fd.get(), deadline);
            }
        }
        if (err == 0) {
            if (address.family() != AF_UNIX) {
                // Interactive lines and pipelined batches both want each write sent now.
                int one = 1;
                ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            }
            return fd;
        }
        const std::string where = address.family() == AF_UNIX || formatAddress(address) == name
                                          ? name
                                          : trf("{server} ({address})", fmt::arg("server", name),
                                                fmt::arg("address", formatAddress(address)));
        if (err == ETIMEDOUT && timeout) {
            lastError = trf("cannot connect to {server}: no answer within {time}",
                            fmt::arg("server", where), fmt::arg("time", formatDuration(*timeout)));
        } else {
            allTimedOut = allTimedOut && err == ETIMEDOUT;
            lastError = trf("cannot connect to {server}: {reason}", fmt::arg("server", where),
                            fmt::arg("reason", localErrnoText(err)));
        }
    }
    failure = { allTimedOut ? kStatusTimeout : kStatusNetwork, lastError };
    return {};
}

UniqueFd connectTo(const Endpoint &endpoint, int family,
                   std::optional<std::chrono::milliseconds> timeout, Failure &failure)
{
    const auto addresses = resolve(endpoint, family, failure);
    if (!addresses)
        return {};
    return connectAny(*addresses, timeout, endpoint.toString(), failure);
}

} // namespace pisock
