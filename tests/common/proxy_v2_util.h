#pragma once

// Helpers for the tests of PROXY protocol v2 headers (docs/PROXY-PROTOCOL.md): the header
// written byte by byte, as a proxy would send it.

#include <cstddef>
#include <string>

namespace pisock::proxytest {

// The 12 bytes every v2 header starts with.
inline const std::string kSignature("\r\n\r\n\0\r\nQUIT\n", 12);

// value as two bytes, most significant first.
inline std::string be16(std::size_t value)
{
    return { static_cast<char>(value >> 8 & 0xFF), static_cast<char>(value & 0xFF) };
}

// A v2 header: signature, version/command byte, family byte, length of body, body.
inline std::string v2(unsigned versionCommand, unsigned family, const std::string &body)
{
    return kSignature + static_cast<char>(versionCommand) + static_cast<char>(family) +
           be16(body.size()) + body;
}

// One TLV of a v2 header's body: type, length, value.
inline std::string tlv(unsigned type, const std::string &value)
{
    return static_cast<char>(type) + be16(value.size()) + value;
}

} // namespace pisock::proxytest
