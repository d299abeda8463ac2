#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace pisock {

// Where to listen or connect, as written by a user: "unix:/path", "[v6]:port", "v4:port",
// "host:port" or a bare port. The host is kept as text; resolving it is the caller's job.
struct Endpoint {
    enum class Kind { Inet, Unix };

    Kind kind = Kind::Inet;
    std::string host; // empty: any address (listening) or localhost (connecting)
    std::uint16_t port = 0;
    std::string path; // Kind::Unix; a leading '@' names an abstract socket
    bool webSocket = false; // pisockd's "ws:" listeners: clients speak WebSocket
    bool secure = false; // pisock's wss:// URLs: WebSocket over TLS (a proxy terminates it)

    // "[::1]:9000", "0.0.0.0:8888", "unix:/run/pisockd.sock", "ws:[::]:8080", "wss:pi:443"
    [[nodiscard]] std::string toString() const;
};

// What identifies the socket an endpoint listens on, so that two spellings of one socket
// compare equal (whatever they speak: "ws:9000" too): "9000", "*:9000", "[::]:9000" and "[0::0]:9000"; "127.0.0.1:9000" and
// "[::ffff:127.0.0.1]:9000"; "unix:/run/a.sock" and "unix:/run//a.sock". Host names are
// compared as written (lower case). Port 0 asks for a new port each time: callers that look
// for duplicates skip it.
std::string socketKey(const Endpoint &endpoint);

// Parses text as an Endpoint; on failure returns nothing and sets error to a short reason.
std::optional<Endpoint> parseEndpoint(std::string_view text, std::string &error);
// Parses a decimal port, 0-65535.
std::optional<std::uint16_t> parsePort(std::string_view text);

// A socket address and its length, as filled by accept(), getsockname() or getaddrinfo().
struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = sizeof(storage);

    [[nodiscard]] const sockaddr *get() const noexcept
    {
        return reinterpret_cast<const sockaddr *>(&storage);
    }
    [[nodiscard]] sockaddr *get() noexcept { return reinterpret_cast<sockaddr *>(&storage); }
    [[nodiscard]] int family() const noexcept { return storage.ss_family; }
};

// "192.0.2.1:5000" (IPv4-mapped IPv6 shown as plain IPv4), "[2001:db8::1]:5000",
// "unix:/path", or "unix" for an unnamed unix socket.
std::string formatAddress(const SocketAddress &address);
// How a server names a client: formatAddress() for an IP peer, "unix" for every unix socket
// client. The path or abstract name a unix client binds to is its own choice (it may hold a
// newline, escape sequences or another client's address), so it is never used.
std::string formatPeer(const SocketAddress &address);

} // namespace pisock
