// Sockets of the e2e tests: loopback listeners, the test client, unix clients with a name of
// their choosing.

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <utility>

#include "tests/e2e/harness.h"
#include "tests/e2e/harness_internal.h"

namespace pisock::test {

using detail::die;
using detail::remainingMs;

UniqueFd acceptWithin(int listenFd, std::chrono::milliseconds timeout)
{
    pollfd p{ listenFd, POLLIN, 0 };
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0)
        return {};
    return UniqueFd(::accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC));
}

UniqueFd closedLoopbackPort()
{
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0)
        die("bind");
    return fd;
}

UniqueFd listenLoopback(bool ipv6, int backlog, bool v4mapped)
{
    UniqueFd fd(::socket(ipv6 || v4mapped ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd)
        die("socket");
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (v4mapped) {
        int zero = 0;
        ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        auto *a = reinterpret_cast<sockaddr_in6 *>(&ss);
        a->sin6_family = AF_INET6;
        ::inet_pton(AF_INET6, "::ffff:127.0.0.1", &a->sin6_addr);
        len = sizeof(*a);
    } else if (ipv6) {
        auto *a = reinterpret_cast<sockaddr_in6 *>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof(*a);
    } else {
        auto *a = reinterpret_cast<sockaddr_in *>(&ss);
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*a);
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&ss), len) != 0)
        die("bind");
    if (::listen(fd.get(), backlog) != 0)
        die("listen");
    return fd;
}

std::uint16_t localPort(int fd)
{
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len);
    if (ss.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in *>(&ss)->sin_port);
}

Client::Client(const std::string &host, std::uint16_t port, const std::string &source)
{
    sockaddr_storage ss{};
    socklen_t len = 0;
    int family = AF_INET;
    if (port == 0) {
        family = AF_UNIX;
        auto *a = reinterpret_cast<sockaddr_un *>(&ss);
        a->sun_family = AF_UNIX;
        std::strncpy(a->sun_path, host.c_str(), sizeof(a->sun_path) - 1);
        len = sizeof(*a);
    } else if (host.find(':') != std::string::npos) {
        family = AF_INET6;
        auto *a = reinterpret_cast<sockaddr_in6 *>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        ::inet_pton(AF_INET6, host.c_str(), &a->sin6_addr);
        len = sizeof(*a);
    } else {
        auto *a = reinterpret_cast<sockaddr_in *>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        ::inet_pton(AF_INET, host.c_str(), &a->sin_addr);
        len = sizeof(*a);
    }
    fd_.reset(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd_)
        die("socket");
    if (!source.empty()) {
        sockaddr_in from{};
        from.sin_family = AF_INET;
        ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
        if (::bind(fd_.get(), reinterpret_cast<sockaddr *>(&from), sizeof(from)) != 0)
            die("bind to " + source);
    }
    if (::connect(fd_.get(), reinterpret_cast<sockaddr *>(&ss), len) != 0)
        die("connect to " + host + ":" + std::to_string(port));
}

void Client::send(std::string_view data)
{
    // Blocking socket: send() returns when the kernel took it all (or the peer is gone).
    while (!data.empty()) {
        const ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("send");
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

void Client::shutdownWrite()
{
    ::shutdown(fd_.get(), SHUT_WR);
}

bool Client::fill(Clock::time_point deadline)
{
    if (eof_)
        return false;
    pollfd p{ fd_.get(), POLLIN, 0 };
    if (::poll(&p, 1, remainingMs(deadline)) <= 0)
        return false;
    char buf[65536];
    const ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return true;
        error_ = n < 0 ? errno : 0;
        eof_ = true;
        return false;
    }
    pending_.append(buf, static_cast<std::size_t>(n));
    return true;
}

std::optional<std::string> Client::readLine(std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (auto nl = pending_.find('\n'); nl != std::string::npos) {
            std::string line = pending_.substr(0, nl);
            pending_.erase(0, nl + 1);
            return line;
        }
        if (!fill(deadline))
            return std::nullopt;
    }
}

std::string Client::readBytes(std::size_t n, std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    while (pending_.size() < n && fill(deadline)) {
    }
    std::string out = pending_.substr(0, n);
    pending_.erase(0, out.size());
    return out;
}

std::string Client::readToEof(std::chrono::milliseconds timeout, bool *timedOut)
{
    const auto deadline = Clock::now() + timeout;
    while (fill(deadline)) {
    }
    if (timedOut)
        *timedOut = !eof_;
    return std::exchange(pending_, {});
}

bool Client::waitForEof(std::chrono::milliseconds timeout)
{
    bool timedOut = true;
    const std::string rest = readToEof(timeout, &timedOut);
    return !timedOut && rest.empty();
}

bool roundTrip(Client &c, const std::string &text, std::chrono::milliseconds timeout)
{
    c.send(text + "\n");
    return c.readLine(timeout) == "server rec: " + text;
}

UniqueFd connectUnixFrom(const std::string &path, std::string_view bindName)
{
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un own{};
    own.sun_family = AF_UNIX;
    const std::size_t n = std::min(bindName.size(), sizeof(own.sun_path));
    if (n > 0) // an empty string_view's data() may be null, which memcpy must not get
        std::memcpy(own.sun_path, bindName.data(), n);
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr *>(&own),
                      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n)) != 0)
        die("bind a unix client");
    sockaddr_un to{};
    to.sun_family = AF_UNIX;
    const std::size_t m = std::min(path.size(), sizeof(to.sun_path) - 1);
    std::memcpy(to.sun_path, path.data(), m);
    socklen_t length = sizeof(to);
    if (path.starts_with('@')) { // abstract: the name is exactly its bytes
        to.sun_path[0] = '\0';
        length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + m);
    }
    if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&to), length) != 0)
        die("connect to " + path);
    return fd;
}

} // namespace pisock::test
