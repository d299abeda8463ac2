#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "common/address.h"
#include "peer_cred.h"

namespace pisock {

// Who is behind a connection, for --max-per-host: its IP address (an IPv4-mapped IPv6 address
// is the IPv4 address, so one host counts once on a dual-stack socket), or for a unix socket
// client its user id (every process of one user is one host). Plain value, hashable.
struct PeerHost {
    enum class Kind : std::uint8_t { Ipv4, Ipv6, UnixUser, Unknown };

    Kind kind = Kind::Unknown;
    std::array<std::uint8_t, 16> bytes{}; // the address, or the uid in the first four

    // From an accepted socket's peer address, and for a unix socket its credentials.
    static PeerHost of(const SocketAddress &peer,
                       const std::optional<PeerCred> &credentials) noexcept;
    // "192.0.2.1", "2001:db8::1", "uid 1000": how the log names it.
    [[nodiscard]] std::string toString() const;

    bool operator==(const PeerHost &) const = default;
};

struct PeerHostHash {
    std::size_t operator()(const PeerHost &host) const noexcept;
};

} // namespace pisock
