#include "peer_host.h"

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>

namespace pisock {

PeerHost PeerHost::of(const SocketAddress &peer,
                      const std::optional<PeerCred> &credentials) noexcept
{
    PeerHost host;
    switch (peer.family()) {
    case AF_INET: {
        const auto *in = reinterpret_cast<const sockaddr_in *>(&peer.storage);
        host.kind = Kind::Ipv4;
        std::memcpy(host.bytes.data(), &in->sin_addr, 4);
        break;
    }
    case AF_INET6: {
        const auto *in6 = reinterpret_cast<const sockaddr_in6 *>(&peer.storage);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            host.kind = Kind::Ipv4;
            std::memcpy(host.bytes.data(), &in6->sin6_addr.s6_addr[12], 4);
        } else {
            host.kind = Kind::Ipv6;
            std::memcpy(host.bytes.data(), &in6->sin6_addr, 16);
        }
        break;
    }
    case AF_UNIX:
        if (credentials) {
            host.kind = Kind::UnixUser;
            std::memcpy(host.bytes.data(), &credentials->uid, sizeof(credentials->uid));
        }
        break;
    default:
        break;
    }
    return host;
}

std::string PeerHost::toString() const
{
    char text[INET6_ADDRSTRLEN] = {};
    switch (kind) {
    case Kind::Ipv4:
        ::inet_ntop(AF_INET, bytes.data(), text, sizeof(text));
        return text;
    case Kind::Ipv6:
        ::inet_ntop(AF_INET6, bytes.data(), text, sizeof(text));
        return text;
    case Kind::UnixUser: {
        uid_t uid = 0;
        std::memcpy(&uid, bytes.data(), sizeof(uid));
        return "uid " + std::to_string(uid);
    }
    case Kind::Unknown:
        break;
    }
    return "unknown";
}

std::size_t PeerHostHash::operator()(const PeerHost &host) const noexcept
{
    // FNV-1a over the kind and the bytes.
    std::uint64_t h = 1469598103934665603ull ^ static_cast<std::uint8_t>(host.kind);
    for (const std::uint8_t b : host.bytes)
        h = (h ^ b) * 1099511628211ull;
    return static_cast<std::size_t>(h);
}

} // namespace pisock
