#include "ws_client.h"

#include <array>
#include <cerrno>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "common/ws_client_handshake.h"
#include "i18n.h"

namespace pisock {

namespace {

void randomBytes(std::uint8_t *p, std::size_t n)
{
    while (n > 0) {
        const ssize_t got = ::getrandom(p, n, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            throw std::runtime_error("getrandom failed");
        p += got;
        n -= static_cast<std::size_t>(got);
    }
}

ws::Mask randomMask()
{
    ws::Mask mask{};
    randomBytes(mask.data(), mask.size());
    return mask;
}

// Host as the Host field writes it: IPv6 in brackets, the port always given.
std::string hostField(const Endpoint &endpoint)
{
    const bool v6 = endpoint.host.find(':') != std::string::npos;
    return (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port);
}

// Waits for fd to be ready for events until deadline; false if it passed.
bool waitFor(int fd, short events, std::optional<std::chrono::steady_clock::time_point> deadline)
{
    for (;;) {
        int ms = -1;
        if (deadline) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(
                    *deadline - std::chrono::steady_clock::now());
            ms = static_cast<int>(std::max<long long>(left.count(), 0));
        }
        pollfd p{ fd, events, 0 };
        const int n = ::poll(&p, 1, ms);
        if (n > 0)
            return true;
        if (n == 0)
            return false;
        if (errno != EINTR)
            return true; // the next call says what is wrong
    }
}

} // namespace

std::optional<Endpoint> parseWsUrl(std::string_view text, std::string &error)
{
    const bool secure = text.starts_with("wss://");
    if (!secure && !text.starts_with("ws://")) {
        error = tr("a WebSocket URL starts with ws:// or wss://");
        return std::nullopt;
    }
    const std::string url(text);
    text.remove_prefix(text.find("//") + 2);
    const std::size_t slash = text.find('/');
    const std::string_view authority = text.substr(0, slash);
    Endpoint ep{ Endpoint::Kind::Inet, {}, static_cast<std::uint16_t>(secure ? 443 : 80), {} };
    ep.webSocket = true;
    ep.secure = secure;
    ep.path = slash == std::string_view::npos ? "/" : std::string(text.substr(slash));
    // "[v6]:port", "[v6]", "host:port", "host".
    std::string_view host = authority;
    std::string_view port;
    if (authority.starts_with('[')) {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            error = trf("'{url}' is not a WebSocket URL", fmt::arg("url", url));
            return std::nullopt;
        }
        host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') {
                error = trf("'{url}' is not a WebSocket URL", fmt::arg("url", url));
                return std::nullopt;
            }
            port = authority.substr(close + 2);
        }
    } else if (const std::size_t colon = authority.find(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty() || ep.path.find_first_of(" \t\r\n") != std::string::npos) {
        error = trf("'{url}' is not a WebSocket URL", fmt::arg("url", url));
        return std::nullopt;
    }
    ep.host = host;
    if (!port.empty()) {
        const auto p = parsePort(port);
        if (!p || *p == 0) {
            error = trf("invalid port '{port}'", fmt::arg("port", port));
            return std::nullopt;
        }
        ep.port = *p;
    }
    return ep;
}

bool wsHandshake(int fd, const Endpoint &endpoint, std::optional<std::chrono::milliseconds> timeout,
                 Buffer &in, Failure &failure)
{
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (timeout)
        deadline = std::chrono::steady_clock::now() + *timeout;
    std::array<std::uint8_t, ws::kKeyBytes> random{};
    randomBytes(random.data(), random.size());
    const std::string key = ws::makeKey(random);
    Buffer out;
    if (!ws::writeRequest(out, hostField(endpoint), endpoint.path, key)) {
        failure = { kStatusUsage, tr("the ws:// URL cannot be sent as a request") };
        return false;
    }
    const std::string name = endpoint.toString();
    auto lost = [&](int err) {
        failure = { kStatusNetwork,
                    trf("connection to {server} lost: {reason}", fmt::arg("server", name),
                        fmt::arg("reason", localErrnoText(err))) };
        return false;
    };
    ws::ResponseParser parser(key);
    for (;;) {
        const short want = out.empty() ? POLLIN : POLLOUT;
        if (!waitFor(fd, want, deadline)) {
            failure = { kStatusTimeout, trf("no WebSocket handshake from {server} in time",
                                            fmt::arg("server", name)) };
            return false;
        }
        if (!out.empty()) {
            const ssize_t n = ::send(fd, out.data(), out.readable(), MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                return lost(errno);
            if (n > 0)
                out.consume(static_cast<std::size_t>(n));
            continue;
        }
        auto span = in.writable(4096);
        const ssize_t n = ::recv(fd, span.data(), span.size(), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n < 0)
            return lost(errno);
        if (n == 0) {
            failure = { kStatusClosedEarly,
                        trf("{server} closed the connection during the WebSocket handshake",
                            fmt::arg("server", name)) };
            return false;
        }
        in.commit(static_cast<std::size_t>(n));
        switch (parser.parse(in)) {
        case ws::ResponseParser::Result::NeedMore:
            continue;
        case ws::ResponseParser::Result::Accepted:
            return true;
        case ws::ResponseParser::Result::Refused:
            failure = { kStatusNetwork,
                        trf("{server} refused the WebSocket handshake: {reason}",
                            fmt::arg("server", name), fmt::arg("reason", parser.reason())) };
            return false;
        }
    }
}

WsClient::WsClient(std::size_t maxMessage)
    : encoder_(randomMask), decoder_(ws::Role::Client, maxMessage)
{
}

} // namespace pisock
