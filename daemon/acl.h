#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.h"

namespace pisock {

// One --allow or --deny rule: an IPv4 or IPv6 network. Plain value.
struct Cidr {
    bool v6 = false;
    std::array<std::uint8_t, 16> network{}; // IPv4 uses the first 4 bytes
    unsigned prefix = 0; // bits that must match: 0..32 (IPv4), 0..128 (IPv6)

    // "192.168.0.0/16", "fe80::/10", "10.0.0.1/32"
    [[nodiscard]] std::string toString() const;
    // addr holds 4 (IPv4) or 16 (IPv6) bytes in network order.
    [[nodiscard]] bool contains(bool addrV6, const std::uint8_t *addr) const noexcept;

    friend bool operator==(const Cidr &, const Cidr &) = default;
};

// Parses "ADDR/BITS" or a bare address (a single host). An IPv4-mapped IPv6 rule
// (::ffff:10.0.0.0/104) becomes the IPv4 rule it stands for. Host bits set past the prefix
// are an error, since they usually mean a typo. On failure sets error to a short reason.
std::optional<Cidr> parseCidr(std::string_view text, std::string &error);

// A set of networks kept elsewhere (`allow = lan`: this machine's own subnets, LanPrefixes).
class NetworkSet
{
public:
    // addr holds 4 (IPv4) or 16 (IPv6) bytes in network order.
    [[nodiscard]] virtual bool contains(bool v6, const std::uint8_t *addr) const noexcept = 0;

protected:
    ~NetworkSet() = default;
};

// Whether a peer may connect: refused if a --deny rule matches (deny
// wins whatever the order), else allowed if there are no --allow rules and no lan set, or an
// --allow rule or lan (`allow = lan`) matches. IPv4-mapped IPv6 peers are matched as IPv4;
// unix-socket peers are always allowed.
bool peerAllowed(const SocketAddress &peer, const std::vector<Cidr> &allow,
                 const std::vector<Cidr> &deny, const NetworkSet *lan = nullptr) noexcept;

} // namespace pisock
