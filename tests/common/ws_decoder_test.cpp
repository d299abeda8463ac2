#include "common/ws_decoder.h"

#include <string>
#include <vector>

#include "tests/catch.h"
#include "tests/common/ws_test_util.h"

using namespace pisock;
using namespace pisock::wstest;
using ws::Role;
using Events = std::vector<Got>;

namespace {

constexpr int kFin = 0x80;
constexpr int kText = 0x1;
constexpr int kBinary = 0x2;
constexpr int kClose = 0x8;
constexpr int kPing = 0x9;
constexpr int kPong = 0xa;

std::string closePayload(int code, std::string_view reason = {})
{
    return bytes({ code >> 8, code & 0xff }) + std::string(reason);
}

} // namespace

// RFC 6455 section 5.7, byte for byte.

TEST_CASE("RFC 6455 5.7: a single-frame unmasked text message", "[ws]")
{
    const auto wire = bytes({ 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f });
    CHECK(decodeBoth(Role::Client, wire) == Events{ text("Hello") });
}

TEST_CASE("RFC 6455 5.7: a single-frame masked text message", "[ws]")
{
    const auto wire = bytes({ 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 });
    CHECK(decodeBoth(Role::Server, wire) == Events{ text("Hello") });
}

TEST_CASE("RFC 6455 5.7: a fragmented unmasked text message", "[ws]")
{
    const auto wire = bytes({ 0x01, 0x03, 0x48, 0x65, 0x6c }) + bytes({ 0x80, 0x02, 0x6c, 0x6f });
    CHECK(decodeBoth(Role::Client, wire) == Events{ text("Hello") });
}

TEST_CASE("RFC 6455 5.7: unmasked Ping and masked Pong", "[ws]")
{
    const auto ping = bytes({ 0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f });
    CHECK(decodeBoth(Role::Client, ping) == Events{ { Kind::Ping, "Hello" } });
    const auto pong = bytes({ 0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 });
    CHECK(decodeBoth(Role::Server, pong) == Events{ { Kind::Pong, "Hello" } });
}

TEST_CASE("RFC 6455 5.7: 256 bytes binary in a single unmasked frame", "[ws]")
{
    std::string payload(256, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i)
        payload[i] = static_cast<char>(i);
    const auto wire = bytes({ 0x82, 0x7e, 0x01, 0x00 }) + payload;
    CHECK(decodeBoth(Role::Client, wire) == Events{ binary(payload) });
}

TEST_CASE("RFC 6455 5.7: 64 KiB binary in a single unmasked frame", "[ws]")
{
    const std::string payload(64 * kKiB, '\xa5');
    const auto wire = bytes({ 0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00 }) + payload;
    CHECK(decodeBoth(Role::Client, wire, 64 * kKiB) == Events{ binary(payload) });
}

// Masking follows the role.

TEST_CASE("a server refuses an unmasked frame with 1002", "[ws]")
{
    CHECK(decodeBoth(Role::Server, frame(kFin | kText, "hi", false)) == Events{ error(1002) });
}

TEST_CASE("a client refuses a masked frame with 1002", "[ws]")
{
    CHECK(decodeBoth(Role::Client, frame(kFin | kText, "hi", true)) == Events{ error(1002) });
}

// Lengths.

TEST_CASE("the 16-bit and 64-bit length forms are read at their boundaries", "[ws]")
{
    for (const std::size_t n : { 125, 126, 65535, 65536, 70000 }) {
        const std::string payload(n, 'x');
        INFO(n);
        CHECK(decodeBoth(Role::Server, frame(kFin | kBinary, payload), 128 * kKiB) ==
              Events{ binary(payload) });
    }
}

TEST_CASE("a length not in its shortest form is refused with 1002", "[ws]")
{
    CHECK(decodeBoth(Role::Server, frame(kFin | kText, "short", true, 2)) == Events{ error(1002) });
    CHECK(decodeBoth(Role::Server, frame(kFin | kText, std::string(125, 'a'), true, 2)) ==
          Events{ error(1002) });
    CHECK(decodeBoth(Role::Server, frame(kFin | kText, std::string(300, 'a'), true, 8)) ==
          Events{ error(1002) });
    CHECK(decodeBoth(Role::Server, frame(kFin | kText, std::string(65535, 'a'), true, 8)) ==
          Events{ error(1002) });
}

TEST_CASE("a 64-bit length with its top bit set is refused with 1002", "[ws]")
{
    const auto wire = bytes({ 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0x01, 0x37, 0xfa, 0x21, 0x3d });
    CHECK(decodeBoth(Role::Server, wire) == Events{ error(1002) });
}

TEST_CASE("a frame over the message limit is refused with 1009 once its header is in", "[ws]")
{
    // Only the header is sent: the decoder does not wait for a payload it will refuse.
    CHECK(decodeBoth(Role::Server, frame(kFin | kBinary, "", true, 8, 1LL << 40)) ==
          Events{ error(1009) });
    CHECK(decodeBoth(Role::Server, frame(kFin | kText, "", true, 2, 200), 100) ==
          Events{ error(1009) });
    CHECK(decodeBoth(Role::Server, frame(kFin | kText, std::string(100, 'a')), 100) ==
          Events{ text(std::string(100, 'a')) });
}

TEST_CASE("a fragmented message over the limit is refused with 1009", "[ws]")
{
    const auto wire = frame(kText, std::string(60, 'a')) + frame(0x0, std::string(40, 'b')) +
                      frame(kFin, "c");
    CHECK(decodeBoth(Role::Server, wire, 100) == Events{ error(1009) });
    const auto fits = frame(kText, std::string(60, 'a')) + frame(kFin, std::string(40, 'b'));
    CHECK(decodeBoth(Role::Server, fits, 100) ==
          Events{ text(std::string(60, 'a') + std::string(40, 'b')) });
}

// Fragmentation.

TEST_CASE("fragments of a binary message are joined, empty ones included", "[ws]")
{
    const auto wire = frame(kBinary, bytes({ 0, 1 })) + frame(0x0, "") +
                      frame(0x0, bytes({ 0xff })) + frame(kFin, "");
    CHECK(decodeBoth(Role::Server, wire) == Events{ binary(bytes({ 0, 1, 0xff })) });
}

TEST_CASE("a fragmented message is charged to the decoder's account until it is whole", "[ws]")
{
    MemoryBudget budget(1024 * 1024);
    MemoryAccount account(&budget);
    ws::Decoder decoder(Role::Server, 64 * kKiB);
    decoder.setAccount(&account);
    Buffer in;
    REQUIRE(in.append(frame(kText, std::string(20000, 'a'))));
    CHECK(decoder.next(in).kind == Kind::NeedMore);
    CHECK(in.empty());
    // Held for the peer between reads: counted in the budget, as the connection's buffers are.
    CHECK(account.held() >= 20000);
    CHECK(account.held() == MemoryBudget::cost(decoder.held()));
    CHECK(budget.used() >= 20000);
    REQUIRE(in.append(frame(kFin, "b")));
    const ws::Event whole = decoder.next(in);
    CHECK(whole.kind == Kind::Text);
    CHECK(whole.payload.size() == 20001);
    CHECK(decoder.next(in).kind == Kind::NeedMore); // the message's buffer goes back
    CHECK(account.held() == 0);
}

TEST_CASE("a new data frame inside a fragmented message is refused with 1002", "[ws]")
{
    CHECK(decodeBoth(Role::Server, frame(kText, "a") + frame(kFin | kText, "b")) ==
          Events{ error(1002) });
    CHECK(decodeBoth(Role::Server, frame(kBinary, "a") + frame(kFin | kBinary, "b")) ==
          Events{ error(1002) });
}

TEST_CASE("a continuation frame without a message to continue is refused with 1002", "[ws]")
{
    CHECK(decodeBoth(Role::Server, frame(kFin, "a")) == Events{ error(1002) });
    // Also once the message it could have continued is over.
    CHECK(decodeBoth(Role::Server, frame(kFin | kText, "a") + frame(kFin, "b")) ==
          Events{ text("a"), error(1002) });
}

TEST_CASE("control frames may come between the fragments of a message", "[ws]")
{
    const auto wire = frame(kText, "Hel") + frame(kFin | kPing, "p") + frame(0x0, "l") +
                      frame(kFin | kPong, "q") + frame(kFin, "o");
    CHECK(decodeBoth(Role::Server, wire) ==
          Events{ { Kind::Ping, "p" }, { Kind::Pong, "q" }, text("Hello") });
}

TEST_CASE("several messages in one read come out in order", "[ws]")
{
    const auto wire = frame(kFin | kText, "one") + frame(kFin | kBinary, "two") +
                      frame(kFin | kText, "") + frame(kFin | kPing, "");
    CHECK(decodeBoth(Role::Server, wire) ==
          Events{ text("one"), binary("two"), text(""), { Kind::Ping, "" } });
}

// Control frames.

TEST_CASE("a control frame over 125 bytes is refused with 1002", "[ws]")
{
    CHECK(decodeBoth(Role::Server, frame(kFin | kPing, std::string(126, 'p'))) ==
          Events{ error(1002) });
    CHECK(decodeBoth(Role::Server, frame(kFin | kPing, std::string(125, 'p'))) ==
          Events{ { Kind::Ping, std::string(125, 'p') } });
}

TEST_CASE("a fragmented control frame is refused with 1002", "[ws]")
{
    for (const int op : { kPing, kPong, kClose })
        CHECK(decodeBoth(Role::Server, frame(op, "")) == Events{ error(1002) });
}

TEST_CASE("a Close frame gives its code and reason, or 1005 when it has none", "[ws]")
{
    CHECK(decodeBoth(Role::Server, frame(kFin | kClose, "")) == Events{ closeWith(1005) });
    CHECK(decodeBoth(Role::Server, frame(kFin | kClose, closePayload(1000, "bye"))) ==
          Events{ closeWith(1000, "bye") });
    CHECK(decodeBoth(Role::Client, frame(kFin | kClose, closePayload(1001, "再见"), false)) ==
          Events{ closeWith(1001, "再见") });
}

TEST_CASE("a Close frame with a 1-byte payload is refused with 1002", "[ws]")
{
    CHECK(decodeBoth(Role::Server, frame(kFin | kClose, "x")) == Events{ error(1002) });
}

TEST_CASE("close codes that must not be sent are refused with 1002", "[ws]")
{
    for (const int code : { 0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535 }) {
        INFO(code);
        CHECK(decodeBoth(Role::Server, frame(kFin | kClose, closePayload(code))) ==
              Events{ error(1002) });
    }
    for (const int code : { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                            3000, 3999, 4000, 4999 }) {
        INFO(code);
        CHECK(decodeBoth(Role::Server, frame(kFin | kClose, closePayload(code))) ==
              Events{ closeWith(static_cast<std::uint16_t>(code)) });
    }
}

TEST_CASE("a Close reason that is not UTF-8 is refused with 1007", "[ws]")
{
    CHECK(decodeBoth(Role::Server, frame(kFin | kClose, closePayload(1000, "\xff"))) ==
          Events{ error(1007) });
}

TEST_CASE("after a Close nothing more is decoded", "[ws]")
{
    const auto wire = frame(kFin | kClose, closePayload(1000)) + frame(kFin | kText, "late");
    CHECK(decodeBoth(Role::Server, wire) == Events{ closeWith(1000) });
}

TEST_CASE("a Close in the middle of a fragmented message drops the message", "[ws]")
{
    ws::Decoder decoder(Role::Server);
    Buffer in;
    REQUIRE(in.append(frame(kText, "half") + frame(kFin | kClose, closePayload(1001))));
    const auto e = decoder.next(in);
    CHECK(e.kind == Kind::Close);
    CHECK(e.code == 1001);
    CHECK(decoder.done());
    CHECK(decoder.held() == 0);
}

// Reserved bits and opcodes.

TEST_CASE("a frame with a reserved bit set is refused with 1002", "[ws]")
{
    for (const int rsv : { 0x40, 0x20, 0x10 })
        CHECK(decodeBoth(Role::Server, frame(kFin | rsv | kText, "x")) == Events{ error(1002) });
}

TEST_CASE("an unknown opcode is refused with 1002", "[ws]")
{
    for (const int op : { 0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf })
        CHECK(decodeBoth(Role::Server, frame(kFin | op, "")) == Events{ error(1002) });
}

// UTF-8.

TEST_CASE("a text message that is not UTF-8 is refused with 1007", "[ws]")
{
    CHECK(decodeBoth(Role::Server, frame(kFin | kText, "ok \xc0\xaf")) == Events{ error(1007) });
    CHECK(decodeBoth(Role::Server, frame(kFin | kText, "\xed\xa0\x80")) == Events{ error(1007) });
    // A binary message may hold anything.
    CHECK(decodeBoth(Role::Server, frame(kFin | kBinary, "\xc0\xaf")) ==
          Events{ binary("\xc0\xaf") });
}

TEST_CASE("a character split between fragments is valid; a message ending inside one is not",
          "[ws]")
{
    // 你好 is e4 bd a0 e5 a5 bd.
    const auto split = frame(kText, "\xe4\xbd") + frame(0x0, "\xa0\xe5") + frame(kFin, "\xa5\xbd");
    CHECK(decodeBoth(Role::Server, split) == Events{ text("你好") });
    CHECK(decodeBoth(Role::Server, frame(kText, "\xe4\xbd") + frame(kFin, "")) ==
          Events{ error(1007) });
    CHECK(decodeBoth(Role::Server, frame(kFin | kText, "\xe4\xbd")) == Events{ error(1007) });
}

TEST_CASE("invalid UTF-8 is refused as soon as it arrives, before its frame is whole", "[ws]")
{
    ws::Decoder decoder(Role::Server);
    Buffer in;
    std::string payload(1001, 'a'); // not "\xff" + std::string(...): GCC 12 -O3 -Wrestrict
    payload[0] = '\xff';
    const auto wire = frame(kFin | kText, payload);
    REQUIRE(in.append(wire.substr(0, 10))); // 8 bytes of header, 2 of payload
    const auto e = decoder.next(in);
    CHECK(e.kind == Kind::Error);
    CHECK(e.code == 1007);
    CHECK(decoder.done());
}

// Memory and copies.

TEST_CASE("a message in one frame is handed out in place, without a copy", "[ws]")
{
    ws::Decoder decoder(Role::Server);
    Buffer in;
    REQUIRE(in.append(frame(kFin | kText, "in place")));
    const char *start = in.data();
    const char *end = start + in.readable();
    const auto e = decoder.next(in);
    REQUIRE(e.kind == Kind::Text);
    CHECK(e.payload == "in place");
    CHECK(e.payload.data() >= start);
    CHECK(e.payload.data() + e.payload.size() <= end);
    CHECK(in.readable() == 0);
    CHECK(decoder.held() == 0);
}

TEST_CASE("a fragmented message is held only until it is handed out", "[ws]")
{
    ws::Decoder decoder(Role::Server);
    Buffer in;
    REQUIRE(in.append(frame(kText, "frag") + frame(kFin, "ments")));
    const auto e = decoder.next(in);
    REQUIRE(e.kind == Kind::Text);
    CHECK(e.payload == "fragments");
    CHECK(decoder.held() > 0);
    CHECK(decoder.next(in).kind == Kind::NeedMore);
    CHECK(decoder.held() == 0);
}

TEST_CASE("a partial frame waits in the input; nothing else is held", "[ws]")
{
    ws::Decoder decoder(Role::Server);
    Buffer in;
    const auto wire = frame(kFin | kBinary, std::string(1000, 'z'));
    REQUIRE(in.append(wire.substr(0, 500)));
    CHECK(decoder.next(in).kind == Kind::NeedMore);
    CHECK(in.readable() == 500);
    CHECK(decoder.held() == 0);
    REQUIRE(in.append(wire.substr(500)));
    const auto e = decoder.next(in);
    CHECK(e.kind == Kind::Binary);
    CHECK(e.payload == std::string(1000, 'z'));
}

TEST_CASE("after an error the decoder discards its input", "[ws]")
{
    ws::Decoder decoder(Role::Server);
    Buffer in;
    REQUIRE(in.append(frame(kFin | kText, "x", false) + frame(kFin | kText, "y")));
    const auto e = decoder.next(in);
    CHECK(e.kind == Kind::Error);
    CHECK(e.code == 1002);
    CHECK(std::string_view(e.reason) == "unmasked frame from a client");
    CHECK(decoder.next(in).kind == Kind::NeedMore);
    CHECK(in.empty());
}

TEST_CASE("a new message limit applies from the next frame", "[ws]")
{
    ws::Decoder decoder(Role::Server, 10);
    Buffer in;
    REQUIRE(in.append(frame(kFin | kText, "twelve bytes")));
    CHECK(decoder.next(in).code == 1009);
    ws::Decoder wider(Role::Server, 10);
    wider.setMaxMessage(20);
    CHECK(wider.maxMessage() == 20);
    Buffer again;
    REQUIRE(again.append(frame(kFin | kText, "twelve bytes")));
    CHECK(wider.next(again).payload == "twelve bytes");
}
