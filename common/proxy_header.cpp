#include "proxy_header.h"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstring>
#include <netinet/in.h>

namespace pisock {

namespace {

using Status = ProxyParse::Status;
using Command = ProxyHeader::Command;

constexpr std::string_view kNotProxy = "not a PROXY protocol header";

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::size_t kV1MaxAddress = 45; // "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"

constexpr std::string_view kV2Signature{ "\r\n\r\n\0\r\nQUIT\n", 12 };
constexpr std::size_t kV2Fixed = 16; // signature, version and command, family, length
constexpr unsigned kV2Version = 2;
constexpr unsigned kV2Proxy = 0x1; // and 0x0 is LOCAL
constexpr unsigned kV2Tcp4 = 0x11; // AF_INET, STREAM
constexpr unsigned kV2Tcp6 = 0x21; // AF_INET6, STREAM
constexpr std::size_t kV2Tcp4Length = 2 * 4 + 2 * 2;
constexpr std::size_t kV2Tcp6Length = 2 * 16 + 2 * 2;
constexpr std::size_t kTlvHead = 3; // type, length (16 bits)
constexpr unsigned kTlvCrc32c = 0x03;
constexpr unsigned kTlvSsl = 0x20;
constexpr unsigned kSubTlvSslCn = 0x22;
constexpr std::size_t kSslHead = 5; // client (8 bits), verify (32 bits), then sub-TLVs

static_assert(kProxyV2MaxLength == 4096, "the error text below names the limit");
constexpr std::string_view kV2TooLong = "v2 header longer than 4096 bytes";

ProxyParse invalid(std::string_view why) noexcept
{
    ProxyParse result;
    result.status = Status::Invalid;
    result.error = why;
    return result;
}

ProxyParse done(std::size_t consumed, int version) noexcept
{
    ProxyParse result;
    result.status = Status::Done;
    result.consumed = consumed;
    result.header.version = version;
    result.header.source.length = 0; // AF_UNSPEC: no address (Local)
    result.header.destination.length = 0;
    return result;
}

unsigned byteAt(std::string_view s, std::size_t at) noexcept
{
    return static_cast<unsigned char>(s[at]);
}

std::size_t be16At(std::string_view s, std::size_t at) noexcept
{
    return byteAt(s, at) << 8 | byteAt(s, at + 1);
}

// True while the bytes received so far agree with the start of expected.
bool agrees(std::string_view received, std::string_view expected) noexcept
{
    const auto n = std::min(received.size(), expected.size());
    return received.substr(0, n) == expected.substr(0, n);
}

// addr: 4 (AF_INET) or 16 (AF_INET6) bytes in network order; port in network order.
SocketAddress inetAddress(int family, const void *addr, std::uint16_t port) noexcept
{
    SocketAddress a;
    if (family == AF_INET) {
        auto *in = reinterpret_cast<sockaddr_in *>(&a.storage);
        in->sin_family = AF_INET;
        in->sin_port = port;
        std::memcpy(&in->sin_addr, addr, sizeof(in->sin_addr));
        a.length = sizeof(sockaddr_in);
    } else {
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(&a.storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = port;
        std::memcpy(&in6->sin6_addr, addr, sizeof(in6->sin6_addr));
        a.length = sizeof(sockaddr_in6);
    }
    return a;
}

// ---- version 1: "PROXY TCP4 192.0.2.1 198.51.100.1 56324 7000\r\n" ----

enum class V1Protocol { Tcp4, Tcp6, Unknown, Undecided, Invalid };

// The protocol word after "PROXY ", as far as the bytes received tell.
V1Protocol v1Protocol(std::string_view rest) noexcept
{
    struct Word {
        std::string_view text;
        V1Protocol protocol;
    };
    // UNKNOWN is followed by " " or the CRLF, the others by " ".
    static constexpr std::array<Word, 3> kWords{ Word{ "TCP4 ", V1Protocol::Tcp4 },
                                                 Word{ "TCP6 ", V1Protocol::Tcp6 },
                                                 Word{ "UNKNOWN", V1Protocol::Unknown } };
    for (const auto &word : kWords) {
        if (!agrees(rest, word.text))
            continue;
        if (rest.size() < word.text.size())
            return V1Protocol::Undecided;
        if (word.protocol == V1Protocol::Unknown && rest.size() > word.text.size() &&
            rest[word.text.size()] != ' ' && rest[word.text.size()] != '\r')
            return V1Protocol::Invalid;
        return word.protocol;
    }
    return V1Protocol::Invalid;
}

bool v1AddressChar(char c, V1Protocol protocol) noexcept
{
    if ((c >= '0' && c <= '9') || c == '.' || c == ' ')
        return true;
    return protocol == V1Protocol::Tcp6 &&
           (c == ':' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

struct V1Line {
    std::size_t length = 0; // up to the CRLF, exclusive; 0 while it has not arrived
    std::string_view error;
};

// Looks for the CRLF that ends the line, checking each byte before it as it comes.
V1Line findV1End(std::string_view received, std::size_t from, V1Protocol protocol) noexcept
{
    const auto n = std::min(received.size(), kProxyV1MaxLength);
    for (auto i = from; i < n; ++i) {
        const char c = received[i];
        if (c == '\r') {
            if (i + 1 == kProxyV1MaxLength)
                return { 0, "v1 header longer than 107 bytes" };
            if (i + 1 == received.size())
                return {}; // the LF may follow
            if (received[i + 1] != '\n')
                return { 0, "v1 header: CR without LF" };
            return { i, {} };
        }
        if (c == '\n')
            return { 0, "v1 header: LF without CR" };
        if (protocol != V1Protocol::Unknown && !v1AddressChar(c, protocol))
            return { 0, "v1 header: unexpected character" };
    }
    if (n == kProxyV1MaxLength)
        return { 0, "v1 header longer than 107 bytes" };
    return {};
}

// Decimal, no leading zero (it could be read as octal), at most max.
bool parseDecimal(std::string_view text, unsigned max, unsigned &value) noexcept
{
    if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0'))
        return false;
    value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9')
            return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value <= max;
}

// Exactly four dot-separated decimals 0-255.
bool parseV1Ipv4(std::string_view text, in_addr &addr) noexcept
{
    std::array<std::uint8_t, 4> bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto dot = text.find('.');
        if ((i == bytes.size() - 1) != (dot == std::string_view::npos))
            return false;
        unsigned value = 0;
        if (!parseDecimal(text.substr(0, dot), 255, value))
            return false;
        bytes[i] = static_cast<std::uint8_t>(value);
        text.remove_prefix(dot == std::string_view::npos ? text.size() : dot + 1);
    }
    std::memcpy(&addr, bytes.data(), bytes.size());
    return true;
}

// Hexadecimal groups with at most one "::" (and an IPv4 tail, as inet_ntop writes
// IPv4-mapped addresses), 128 bits exactly: what inet_pton() accepts.
bool parseV1Ipv6(std::string_view text, in6_addr &addr) noexcept
{
    std::array<char, kV1MaxAddress + 1> copy{};
    if (text.size() > kV1MaxAddress)
        return false;
    std::memcpy(copy.data(), text.data(), text.size());
    return ::inet_pton(AF_INET6, copy.data(), &addr) == 1;
}

// "SRC DST SPORT DPORT": four fields, one space between each.
bool splitV1Fields(std::string_view text, std::array<std::string_view, 4> &fields) noexcept
{
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const auto space = text.find(' ');
        if ((i == fields.size() - 1) != (space == std::string_view::npos))
            return false;
        fields[i] = text.substr(0, space);
        if (fields[i].empty())
            return false;
        text.remove_prefix(space == std::string_view::npos ? text.size() : space + 1);
    }
    return true;
}

// Fills the addresses of a TCP4 or TCP6 line (text: what follows the protocol word).
bool parseV1Addresses(std::string_view text, V1Protocol protocol, ProxyHeader &header) noexcept
{
    std::array<std::string_view, 4> fields;
    unsigned sourcePort = 0;
    unsigned destinationPort = 0;
    if (!splitV1Fields(text, fields) || !parseDecimal(fields[2], 65535, sourcePort) ||
        !parseDecimal(fields[3], 65535, destinationPort))
        return false;
    const auto sport = htons(static_cast<std::uint16_t>(sourcePort));
    const auto dport = htons(static_cast<std::uint16_t>(destinationPort));
    if (protocol == V1Protocol::Tcp4) {
        in_addr source{};
        in_addr destination{};
        if (!parseV1Ipv4(fields[0], source) || !parseV1Ipv4(fields[1], destination))
            return false;
        header.source = inetAddress(AF_INET, &source, sport);
        header.destination = inetAddress(AF_INET, &destination, dport);
    } else {
        in6_addr source{};
        in6_addr destination{};
        if (!parseV1Ipv6(fields[0], source) || !parseV1Ipv6(fields[1], destination))
            return false;
        header.source = inetAddress(AF_INET6, &source, sport);
        header.destination = inetAddress(AF_INET6, &destination, dport);
    }
    header.command = Command::Proxy;
    return true;
}

ProxyParse parseV1(std::string_view received) noexcept
{
    if (!agrees(received, kV1Prefix))
        return invalid(kNotProxy);
    if (received.size() <= kV1Prefix.size())
        return {};
    const auto protocol = v1Protocol(received.substr(kV1Prefix.size()));
    if (protocol == V1Protocol::Invalid)
        return invalid("v1 header: protocol is not TCP4, TCP6 or UNKNOWN");
    if (protocol == V1Protocol::Undecided)
        return {};
    const std::size_t wordEnd = kV1Prefix.size() + (protocol == V1Protocol::Unknown ? 7 : 5);
    const auto line = findV1End(received, wordEnd, protocol);
    if (!line.error.empty())
        return invalid(line.error);
    if (line.length == 0)
        return {};
    auto result = done(line.length + 2, 1);
    // UNKNOWN: whatever stands before the CRLF is ignored, as the protocol says.
    if (protocol != V1Protocol::Unknown &&
        !parseV1Addresses(received.substr(wordEnd, line.length - wordEnd), protocol, result.header))
        return invalid(protocol == V1Protocol::Tcp4 ? "v1 header: bad TCP4 address or port"
                                                    : "v1 header: bad TCP6 address or port");
    return result;
}

// ---- version 2: binary, bounded by its length field ----

constexpr std::array<std::uint32_t, 256> kCrc32cTable = [] {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < table.size(); ++i) {
        std::uint32_t crc = i;
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1; // Castagnoli, reflected
        table[i] = crc;
    }
    return table;
}();

// PP2_TYPE_CRC32C: the CRC32c of the whole header with the checksum's 4 bytes at valueAt read
// as zeros must equal them (big-endian).
bool crc32cMatches(std::string_view header, std::size_t valueAt) noexcept
{
    std::uint32_t crc = 0xFFFFFFFF;
    for (std::size_t i = 0; i < header.size(); ++i) {
        const unsigned b = i >= valueAt && i < valueAt + 4 ? 0 : byteAt(header, i);
        crc = kCrc32cTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
    }
    const std::uint32_t sent = static_cast<std::uint32_t>(be16At(header, valueAt)) << 16 |
                               static_cast<std::uint32_t>(be16At(header, valueAt + 2));
    return ~crc == sent;
}

struct Tlv {
    unsigned type = 0;
    std::string_view value;
};

// The TLV at at in block, if it lies inside; advances at past it.
bool nextTlv(std::string_view block, std::size_t &at, Tlv &tlv) noexcept
{
    if (block.size() - at < kTlvHead)
        return false;
    const std::size_t length = be16At(block, at + 1);
    if (length > block.size() - at - kTlvHead)
        return false;
    tlv.type = byteAt(block, at);
    tlv.value = block.substr(at + kTlvHead, length);
    at += kTlvHead + length;
    return true;
}

struct TlvFindings {
    std::string_view commonName;
    bool haveCommonName = false;
};

// PP2_TYPE_SSL: client, verify, then sub-TLVs, all inside the value.
std::string_view walkSsl(std::string_view value, TlvFindings &found) noexcept
{
    if (value.size() < kSslHead)
        return "v2 header: SSL TLV shorter than 5 bytes";
    Tlv sub;
    for (std::size_t at = kSslHead; at < value.size();) {
        if (!nextTlv(value, at, sub))
            return "v2 header: SSL sub-TLV past the end of its TLV";
        if (sub.type != kSubTlvSslCn)
            continue;
        if (found.haveCommonName)
            return "v2 header: more than one TLS common name";
        found.commonName = sub.value;
        found.haveCommonName = true;
    }
    return {};
}

// The TLVs after the addresses fill the header exactly; unknown types are skipped.
std::string_view walkTlvs(std::string_view header, std::size_t from, TlvFindings &found) noexcept
{
    Tlv tlv;
    for (std::size_t at = from; at < header.size();) {
        const std::size_t tlvAt = at;
        if (!nextTlv(header, at, tlv))
            return "v2 header: TLV past the header's length";
        if (tlv.type == kTlvCrc32c) {
            if (tlv.value.size() != 4)
                return "v2 header: CRC32C TLV is not 4 bytes";
            if (!crc32cMatches(header, tlvAt + kTlvHead))
                return "v2 header: CRC32C mismatch";
        } else if (tlv.type == kTlvSsl) {
            if (const auto error = walkSsl(tlv.value, found); !error.empty())
                return error;
        }
    }
    return {};
}

// The fixed part's checks, made as soon as each byte is in; Done with the header's length
// once the 16 bytes are in.
ProxyParse checkV2Fixed(std::string_view received) noexcept
{
    if (!agrees(received, kV2Signature))
        return invalid(kNotProxy);
    if (received.size() > kV2Signature.size()) {
        const auto versionCommand = byteAt(received, 12);
        if (versionCommand >> 4 != kV2Version)
            return invalid("v2 header: version is not 2");
        if ((versionCommand & 0xF) > kV2Proxy)
            return invalid("v2 header: unknown command (neither LOCAL nor PROXY)");
    }
    if (received.size() > 13) {
        const auto family = byteAt(received, 13);
        if (family >> 4 > 3 || (family & 0xF) > 2)
            return invalid("v2 header: undefined address family or transport");
        if ((byteAt(received, 12) & 0xF) == kV2Proxy && family != kV2Tcp4 && family != kV2Tcp6)
            return invalid("v2 header: PROXY for other than TCP over IPv4 or IPv6");
    }
    if (received.size() < kV2Fixed)
        return {};
    const auto length = kV2Fixed + be16At(received, 14);
    if (length > kProxyV2MaxLength)
        return invalid(kV2TooLong);
    return done(length, 2);
}

ProxyParse parseV2(std::string_view received) noexcept
{
    auto result = checkV2Fixed(received);
    if (result.status != Status::Done)
        return result;
    const std::size_t length = result.consumed;
    const bool proxy = (byteAt(received, 12) & 0xF) == kV2Proxy;
    const bool v4 = byteAt(received, 13) == kV2Tcp4;
    const std::size_t addresses = !proxy ? 0 : v4 ? kV2Tcp4Length : kV2Tcp6Length;
    if (length < kV2Fixed + addresses)
        return invalid(v4 ? "v2 header: too short for IPv4 addresses"
                          : "v2 header: too short for IPv6 addresses");
    if (received.size() < length)
        return {};
    if (!proxy)
        return result; // LOCAL: the address block and TLVs are ignored, as the protocol says
    const auto header = received.substr(0, length);
    const char *block = header.data() + kV2Fixed;
    const std::size_t size = v4 ? 4 : 16;
    std::uint16_t sport = 0; // network order, as the sockaddr wants it
    std::uint16_t dport = 0;
    std::memcpy(&sport, block + 2 * size, 2);
    std::memcpy(&dport, block + 2 * size + 2, 2);
    const int family = v4 ? AF_INET : AF_INET6;
    result.header.command = Command::Proxy;
    result.header.source = inetAddress(family, block, sport);
    result.header.destination = inetAddress(family, block + size, dport);
    TlvFindings found;
    if (const auto error = walkTlvs(header, kV2Fixed + addresses, found); !error.empty())
        return invalid(error);
    result.header.commonName = found.commonName;
    return result;
}

} // namespace

ProxyParse parseProxyHeader(std::string_view received) noexcept
{
    if (received.empty())
        return {};
    if (received[0] == kV1Prefix[0])
        return parseV1(received);
    if (received[0] == kV2Signature[0])
        return parseV2(received);
    return invalid(kNotProxy);
}

} // namespace pisock
