#include "acl.h"

#include <algorithm>
#include <arpa/inet.h>
#include <charconv>
#include <cstring>
#include <netinet/in.h>

namespace pisock {

namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

// 'text', for the errors. Built by appending: "'" + std::string(...) trips GCC 12's -Wrestrict
// at -O3 (a false positive).
std::string quoted(std::string_view text)
{
    std::string out = "'";
    out += text;
    out += '\'';
    return out;
}

bool matchesAny(const std::vector<Cidr> &rules, bool v6, const std::uint8_t *addr) noexcept
{
    return std::any_of(rules.begin(), rules.end(),
                       [&](const Cidr &rule) { return rule.contains(v6, addr); });
}

// Clears the bits past prefix; returns true if any was set.
bool maskHostBits(Cidr &cidr) noexcept
{
    bool hostBits = false;
    const unsigned bytes = cidr.v6 ? 16 : 4;
    for (unsigned i = 0; i < bytes; ++i) {
        const unsigned first = i * 8;
        std::uint8_t keep = 0xff;
        if (cidr.prefix <= first)
            keep = 0;
        else if (cidr.prefix < first + 8)
            keep = static_cast<std::uint8_t>(0xff << (first + 8 - cidr.prefix));
        hostBits = hostBits || (cidr.network[i] & ~keep) != 0;
        cidr.network[i] &= keep;
    }
    return hostBits;
}

} // namespace

std::string Cidr::toString() const
{
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(v6 ? AF_INET6 : AF_INET, network.data(), text, sizeof(text));
    return std::string(text) + "/" + std::to_string(prefix);
}

bool Cidr::contains(bool addrV6, const std::uint8_t *addr) const noexcept
{
    if (addrV6 != v6)
        return false;
    const unsigned full = prefix / 8;
    if (std::memcmp(network.data(), addr, full) != 0)
        return false;
    const unsigned rest = prefix % 8;
    if (rest == 0)
        return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (addr[full] & mask) == network[full];
}

std::optional<Cidr> parseCidr(std::string_view text, std::string &error)
{
    const auto slash = text.find('/');
    const std::string host(text.substr(0, slash));
    Cidr cidr;
    if (::inet_pton(AF_INET, host.c_str(), cidr.network.data()) == 1) {
        cidr.v6 = false;
    } else if (::inet_pton(AF_INET6, host.c_str(), cidr.network.data()) == 1) {
        cidr.v6 = true;
    } else {
        error = quoted(text) + " is not an IPv4 or IPv6 address or network";
        return std::nullopt;
    }
    const unsigned maxBits = cidr.v6 ? 128 : 32;
    cidr.prefix = maxBits;
    if (slash != std::string_view::npos) {
        const std::string_view bits = text.substr(slash + 1);
        unsigned value = 0;
        auto [ptr, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), value);
        if (bits.empty() || ec != std::errc() || ptr != bits.data() + bits.size() ||
            value > maxBits) {
            error = quoted(text) + ": the prefix length must be 0 to " + std::to_string(maxBits);
            return std::nullopt;
        }
        cidr.prefix = value;
    }
    if (maskHostBits(cidr)) {
        error = quoted(text) + " has host bits set (the network is " + cidr.toString() + ")";
        return std::nullopt;
    }
    // ::ffff:a.b.c.d/N names IPv4 addresses: peers are matched as IPv4, so is the rule.
    if (cidr.v6 && cidr.prefix >= 96 &&
        std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), cidr.network.begin())) {
        Cidr v4;
        std::copy_n(cidr.network.begin() + 12, 4, v4.network.begin());
        v4.prefix = cidr.prefix - 96;
        return v4;
    }
    return cidr;
}

bool peerAllowed(const SocketAddress &peer, const std::vector<Cidr> &allow,
                 const std::vector<Cidr> &deny, const NetworkSet *lan) noexcept
{
    const std::uint8_t *addr = nullptr;
    bool v6 = false;
    if (peer.family() == AF_INET) {
        addr = reinterpret_cast<const std::uint8_t *>(
                &reinterpret_cast<const sockaddr_in *>(&peer.storage)->sin_addr);
    } else if (peer.family() == AF_INET6) {
        const auto &in6 = reinterpret_cast<const sockaddr_in6 *>(&peer.storage)->sin6_addr;
        v6 = !IN6_IS_ADDR_V4MAPPED(&in6);
        addr = v6 ? in6.s6_addr : in6.s6_addr + 12;
    } else {
        return true; // unix sockets: file permissions decide
    }
    if (matchesAny(deny, v6, addr))
        return false;
    if (allow.empty() && !lan)
        return true;
    return matchesAny(allow, v6, addr) || (lan && lan->contains(v6, addr));
}

} // namespace pisock
