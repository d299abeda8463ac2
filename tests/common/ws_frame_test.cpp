#include "common/ws_frame.h"

#include <string>
#include <vector>

#include "tests/catch.h"
#include "tests/common/ws_test_util.h"

using namespace pisock;
using namespace pisock::wstest;
using ws::Opcode;
using ws::Role;

namespace {

// A client encoder whose masks are RFC 6455's example mask, then counting up from it.
ws::Encoder clientEncoder()
{
    return ws::Encoder([n = 0]() mutable {
        ws::Mask m = kMask;
        m[3] = static_cast<std::uint8_t>(m[3] + n++);
        return m;
    });
}

std::string wire(const Buffer &out)
{
    return std::string(out.view());
}

} // namespace

// RFC 6455 section 5.7, byte for byte.

TEST_CASE("RFC 6455 5.7: the server encodes an unmasked Hello", "[ws]")
{
    ws::Encoder server;
    Buffer out;
    REQUIRE(server.text(out, "Hello"));
    CHECK(wire(out) == bytes({ 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f }));
}

TEST_CASE("RFC 6455 5.7: the client encodes a masked Hello and a masked Pong", "[ws]")
{
    ws::Encoder client([] { return kMask; });
    CHECK(client.masks());
    Buffer out;
    REQUIRE(client.text(out, "Hello"));
    REQUIRE(client.pong(out, "Hello"));
    const auto masked = bytes({ 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 });
    CHECK(wire(out) == bytes({ 0x81, 0x85 }) + masked + bytes({ 0x8a, 0x85 }) + masked);
}

TEST_CASE("RFC 6455 5.7: a fragmented Hello and an unmasked Ping", "[ws]")
{
    ws::Encoder server;
    Buffer out;
    REQUIRE(server.frame(out, Opcode::Text, { "Hel" }, false));
    REQUIRE(server.frame(out, Opcode::Continuation, { "lo" }, true));
    REQUIRE(server.ping(out, "Hello"));
    CHECK(wire(out) == bytes({ 0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f, 0x89, 0x05,
                               0x48, 0x65, 0x6c, 0x6c, 0x6f }));
}

TEST_CASE("RFC 6455 5.7: 256-byte and 64 KiB binary frames have 16- and 64-bit lengths", "[ws]")
{
    ws::Encoder server;
    Buffer out;
    REQUIRE(server.binary(out, std::string(256, 'b')));
    CHECK(wire(out) == bytes({ 0x82, 0x7e, 0x01, 0x00 }) + std::string(256, 'b'));
    out.clear();
    REQUIRE(server.binary(out, std::string(64 * kKiB, 'c')));
    CHECK(wire(out) ==
          bytes({ 0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0, 0 }) + std::string(64 * kKiB, 'c'));
}

TEST_CASE("header sizes follow the length and the mask", "[ws]")
{
    CHECK(ws::headerSize(0, false) == 2);
    CHECK(ws::headerSize(125, false) == 2);
    CHECK(ws::headerSize(126, false) == 4);
    CHECK(ws::headerSize(65535, true) == 8);
    CHECK(ws::headerSize(65536, false) == 10);
    CHECK(ws::headerSize(65536, true) == ws::kMaxHeader);
    char header[ws::kMaxHeader];
    CHECK(ws::writeHeader(header, Opcode::Binary, 65536, true, &kMask) == ws::kMaxHeader);
}

TEST_CASE("masking at any offset and length undoes itself", "[ws]")
{
    std::string data(40, '\0');
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<char>(i * 7);
    for (std::size_t offset = 0; offset < 4; ++offset) {
        for (std::size_t n = 0; n <= data.size(); ++n) {
            std::string s = data.substr(0, n);
            ws::applyMask(s.data(), s.size(), kMask, offset);
            for (std::size_t i = 0; i < n; ++i)
                REQUIRE(static_cast<std::uint8_t>(s[i] ^ data[i]) == kMask[(offset + i) % 4]);
            ws::applyMask(s.data(), s.size(), kMask, offset);
            REQUIRE(s == data.substr(0, n));
        }
    }
}

TEST_CASE("a reply goes out as one frame built from its parts", "[ws]")
{
    ws::Encoder server;
    Buffer out;
    REQUIRE(server.frame(out, Opcode::Text, { "server rec: ", "hi" }));
    CHECK(wire(out) == bytes({ 0x81, 14 }) + "server rec: hi");
    auto client = clientEncoder();
    Buffer masked;
    REQUIRE(client.frame(masked, Opcode::Text, { "server rec: ", "", "你好" }));
    CHECK(decodeBoth(Role::Server, wire(masked)) == std::vector<Got>{ text("server rec: 你好") });
}

TEST_CASE("a Close frame carries its code and a reason cut at a character boundary", "[ws]")
{
    ws::Encoder server;
    Buffer out;
    REQUIRE(server.close(out, ws::kCloseTooBig, "message too long"));
    CHECK(wire(out) == bytes({ 0x88, 18, 0x03, 0xf1 }) + "message too long");
    out.clear();
    REQUIRE(server.close(out, ws::kCloseNoStatus));
    CHECK(wire(out) == bytes({ 0x88, 0x00 }));
    out.clear();
    // 41 three-byte characters are 123 bytes: the 42nd would not fit.
    std::string reason;
    for (int i = 0; i < 50; ++i)
        reason += "错";
    REQUIRE(server.close(out, ws::kCloseNormal, reason));
    CHECK(decodeBoth(Role::Client, wire(out)) ==
          std::vector<Got>{ closeWith(1000, reason.substr(0, 123)) });
    out.clear();
    REQUIRE(server.close(out, ws::kCloseNormal, "a" + reason));
    CHECK(out.readable() == 2 + 2 + 121); // "a" and 40 characters
}

TEST_CASE("the encoder refuses what no peer may receive, appending nothing", "[ws]")
{
    ws::Encoder server;
    Buffer out;
    CHECK_FALSE(server.ping(out, std::string(126, 'p')));
    CHECK_FALSE(server.frame(out, Opcode::Ping, { "p" }, false));
    CHECK(out.empty());
    Buffer small(10);
    CHECK_FALSE(server.text(small, "nine char"));
    CHECK(small.empty());
    CHECK(server.text(small, "eight ch"));
    CHECK(small.readable() == 10);
}

TEST_CASE("what the encoder writes, the decoder reads back, for both roles", "[ws]")
{
    auto client = clientEncoder();
    ws::Encoder server;
    for (const std::size_t n : { 0, 1, 125, 126, 127, 65535, 65536, 100000 }) {
        std::string payload(n, '\0');
        for (std::size_t i = 0; i < n; ++i)
            payload[i] = static_cast<char>(i * 31 + 7);
        INFO(n);
        Buffer up, down;
        REQUIRE(client.binary(up, payload));
        REQUIRE(server.binary(down, payload));
        CHECK(decode(Role::Server, wire(up), 0, 128 * kKiB) == std::vector<Got>{ binary(payload) });
        CHECK(decode(Role::Client, wire(down), 0, 128 * kKiB) ==
              std::vector<Got>{ binary(payload) });
    }
}
