#pragma once

// Helpers for the WebSocket codec tests: bytes written as numbers, and a decoder run that
// records what it yields, fed whole or in pieces.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer.h"
#include "common/units.h"
#include "common/ws_decoder.h"
#include "tests/catch.h"

namespace pisock::wstest {

using Kind = ws::Event::Kind;

// Bytes from numbers: bytes({ 0x81, 0x05 }).
inline std::string bytes(std::initializer_list<int> values)
{
    std::string s;
    for (const int v : values)
        s.push_back(static_cast<char>(v));
    return s;
}

// The mask of RFC 6455's examples.
inline constexpr ws::Mask kMask = { 0x37, 0xfa, 0x21, 0x3d };

// A frame built by hand, independently of the encoder: first byte b0 (FIN, RSV bits, opcode),
// the payload masked with kMask if masked, the length in lengthBytes extra bytes (0, 2 or 8;
// -1: the shortest form) or, with length >= 0, claiming that length whatever the payload.
inline std::string frame(int b0, std::string_view payload, bool masked = true, int lengthBytes = -1,
                         long long length = -1)
{
    const auto n = length >= 0 ? static_cast<std::uint64_t>(length) : payload.size();
    if (lengthBytes < 0)
        lengthBytes = n <= 125 ? 0 : n <= 0xffff ? 2 : 8;
    std::string s;
    s.push_back(static_cast<char>(b0));
    const int maskBit = masked ? 0x80 : 0;
    const int len7 = lengthBytes == 0 ? static_cast<int>(n) : lengthBytes == 2 ? 126 : 127;
    s.push_back(static_cast<char>(maskBit | len7));
    for (int i = lengthBytes - 1; i >= 0; --i)
        s.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    std::string body(payload);
    if (masked) {
        for (const auto m : kMask)
            s.push_back(static_cast<char>(m));
        for (std::size_t i = 0; i < body.size(); ++i)
            body[i] = static_cast<char>(body[i] ^ static_cast<char>(kMask[i % 4]));
    }
    return s + body;
}

// One event as recorded: the payload copied, the reason kept for Error.
struct Got {
    Kind kind;
    std::string payload;
    std::uint16_t code = 0;

    bool operator==(const Got &other) const = default;
};

inline const char *kindName(Kind kind)
{
    switch (kind) {
    case Kind::NeedMore:
        return "NeedMore";
    case Kind::Text:
        return "Text";
    case Kind::Binary:
        return "Binary";
    case Kind::Ping:
        return "Ping";
    case Kind::Pong:
        return "Pong";
    case Kind::Close:
        return "Close";
    case Kind::Error:
        return "Error";
    }
    return "?";
}

inline std::ostream &operator<<(std::ostream &os, const Got &g)
{
    os << kindName(g.kind) << '(';
    if (g.payload.size() > 40)
        os << g.payload.size() << " bytes";
    else
        os << '"' << g.payload << '"';
    return os << ", " << g.code << ')';
}

inline Got text(std::string s)
{
    return { Kind::Text, std::move(s) };
}
inline Got binary(std::string s)
{
    return { Kind::Binary, std::move(s) };
}
inline Got error(std::uint16_t code)
{
    return { Kind::Error, {}, code };
}
inline Got closeWith(std::uint16_t code, std::string reason = {})
{
    return { Kind::Close, std::move(reason), code };
}

// Feeds wire bytes chunk at a time (0: all at once) to a decoder and records every event.
// Checks on the way that the decoder never holds back more than one frame's worth of input.
inline std::vector<Got> decode(ws::Role role, std::string_view wire, std::size_t chunk = 0,
                               std::size_t maxMessage = 64 * kKiB)
{
    ws::Decoder decoder(role, maxMessage);
    Buffer in;
    std::vector<Got> got;
    if (chunk == 0)
        chunk = wire.size() > 0 ? wire.size() : 1;
    for (std::size_t pos = 0; pos < wire.size(); pos += chunk) {
        REQUIRE(in.append(wire.substr(pos, chunk)));
        for (;;) {
            const ws::Event e = decoder.next(in);
            if (e.kind == Kind::NeedMore)
                break;
            if (e.kind == Kind::Error) {
                INFO(e.reason);
                CHECK(*e.reason != '\0');
            }
            got.push_back({ e.kind, std::string(e.payload), e.code });
        }
        REQUIRE(in.readable() <= std::max(maxMessage, ws::kMaxControlPayload) + ws::kMaxHeader);
    }
    return got;
}

// The events for wire fed whole, checked to be the same when it is fed one byte at a time.
inline std::vector<Got> decodeBoth(ws::Role role, std::string_view wire,
                                   std::size_t maxMessage = 64 * kKiB)
{
    const auto whole = decode(role, wire, 0, maxMessage);
    CHECK(decode(role, wire, 1, maxMessage) == whole);
    return whole;
}

} // namespace pisock::wstest
