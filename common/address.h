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

    // "[::1]:9000", "0.0.0.0:8888", "unix:/run/pisockd.sock"
    [[nodiscard]] std::string toString() const;
};

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

} // namespace pisock
