// libFuzzer target: the WebSocket frame decoder and encoder (common/ws_decoder.h, ws_frame.h).
// 1. Arbitrary bytes, as a server and as a client would decode them: the same events whether
//    they arrive whole or split anywhere; every message within the limit, every text message
//    and close reason valid UTF-8 (by a reference check written out long-hand), close codes
//    and error codes from their sets, nothing after a Close or an Error, and no more input
//    held back than one frame.
// 2. Round trips: the same bytes read as a script of messages, fragments and pings, encoded by
//    a client encoder and by a server one, decode to exactly those messages.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fuzzer/FuzzedDataProvider.h>
#include <string>
#include <vector>

#include "common/buffer.h"
#include "common/utf8.h"
#include "common/ws_decoder.h"
#include "common/ws_frame.h"
#include "tests/fuzz/invariant.h"

using namespace pisock;
using pisock::fuzz::check;
using pisock::fuzz::fail;
using Kind = ws::Event::Kind;

namespace {

// UTF-8 checked code point by code point, independently of the validator's automaton.
bool referenceUtf8(std::string_view s)
{
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<std::uint8_t>(s[i]);
        std::size_t len = 1;
        std::uint32_t cp = c;
        if (c >= 0x80) {
            if ((c & 0xe0) == 0xc0)
                len = 2, cp = c & 0x1f;
            else if ((c & 0xf0) == 0xe0)
                len = 3, cp = c & 0x0f;
            else if ((c & 0xf8) == 0xf0)
                len = 4, cp = c & 0x07;
            else
                return false;
            if (i + len > s.size())
                return false;
            for (std::size_t k = 1; k < len; ++k) {
                const auto cc = static_cast<std::uint8_t>(s[i + k]);
                if ((cc & 0xc0) != 0x80)
                    return false;
                cp = (cp << 6) | (cc & 0x3f);
            }
            const std::uint32_t least[] = { 0, 0, 0x80, 0x800, 0x10000 };
            if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return false;
        }
        i += len;
    }
    return true;
}

struct Got {
    Kind kind;
    std::string payload;
    std::uint16_t code;
    bool operator==(const Got &) const = default;
};

// A small deterministic generator for split points and masks.
struct Lcg {
    std::uint32_t state;
    std::uint32_t next() { return state = state * 1664525u + 1013904223u; }
};

// Decodes wire fed in pieces (sizes from rng, 1 to 64 bytes; whole without rng), checking the
// invariants of every event on the way.
std::vector<Got> decode(ws::Role role, std::size_t maxMessage, std::string_view wire, Lcg *rng)
{
    ws::Decoder decoder(role, maxMessage);
    Buffer in;
    std::vector<Got> got;
    bool over = false;
    std::size_t pos = 0;
    while (pos < wire.size()) {
        const std::size_t n = rng ? 1 + rng->next() % 64 : wire.size();
        check(in.append(wire.substr(pos, n)), "append");
        pos += std::min(n, wire.size() - pos);
        for (;;) {
            const ws::Event e = decoder.next(in);
            if (e.kind == Kind::NeedMore)
                break;
            check(!over, "an event after a Close or an Error");
            const auto size = e.payload.size();
            switch (e.kind) {
            case Kind::Text:
                check(referenceUtf8(e.payload), "text message not UTF-8");
                [[fallthrough]];
            case Kind::Binary:
                check(size <= maxMessage, "message over the limit");
                break;
            case Kind::Ping:
            case Kind::Pong:
                check(size <= ws::kMaxControlPayload, "control payload over 125 bytes");
                break;
            case Kind::Close:
                check(size <= ws::kMaxCloseReason && referenceUtf8(e.payload), "close reason");
                check(ws::isValidCloseCode(e.code) || (e.code == ws::kCloseNoStatus && size == 0),
                      "close code");
                over = true;
                break;
            case Kind::Error:
                check(e.code == 1002 || e.code == 1007 || e.code == 1009 || e.code == 1011,
                      "error code");
                check(*e.reason != '\0', "error without a reason");
                over = true;
                break;
            case Kind::NeedMore:
                break;
            }
            got.push_back({ e.kind, std::string(e.payload), e.code });
        }
        check(in.readable() <= std::max(maxMessage, ws::kMaxControlPayload) + ws::kMaxHeader,
              "more than one frame held back");
        check(decoder.held() <= std::max(Buffer::kMinCapacity, 2 * maxMessage),
              "fragments held past the limit");
    }
    return got;
}

void arbitrary(ws::Role role, std::size_t maxMessage, std::uint32_t seed, std::string_view wire)
{
    // The validator is a table: coverage cannot tell its transitions apart, so it is compared
    // with the reference on every short window, where valid sequences are likely.
    for (std::size_t i = 0; i < wire.size(); ++i)
        for (std::size_t n = 1; n <= 4 && i + n <= wire.size(); ++n)
            check(isValidUtf8(wire.substr(i, n)) == referenceUtf8(wire.substr(i, n)),
                  "UTF-8 validator disagrees with the reference");
    Lcg rng{ seed };
    check(decode(role, maxMessage, wire, nullptr) == decode(role, maxMessage, wire, &rng),
          "events depend on how the input was split");
}

// Reads the bytes as messages to send: a kind, a length, the payload, a number of fragments.
// Encodes them with encoder into wire and lists the events a decoder must give.
void script(FuzzedDataProvider &in, ws::Encoder &encoder, std::string &wire, std::vector<Got> &want)
{
    Buffer out;
    while (in.remaining_bytes() > 0) {
        const auto what = in.ConsumeIntegralInRange<int>(0, 3);
        std::string payload =
                in.ConsumeRandomLengthString(what >= 2 ? ws::kMaxControlPayload : 600);
        if (what >= 2) {
            const auto op = what == 2 ? ws::Opcode::Ping : ws::Opcode::Pong;
            check(encoder.frame(out, op, { payload }), "encode control");
            want.push_back({ what == 2 ? Kind::Ping : Kind::Pong, payload, 0 });
            continue;
        }
        const bool text = what == 0 && isValidUtf8(payload);
        const auto pieces = in.ConsumeIntegralInRange<std::size_t>(1, 4);
        std::size_t at = 0;
        for (std::size_t k = 0; k < pieces; ++k) {
            const bool last = k + 1 == pieces;
            const std::size_t n = last ? payload.size() - at : (payload.size() - at) / 2;
            const auto op = k > 0  ? ws::Opcode::Continuation
                            : text ? ws::Opcode::Text
                                   : ws::Opcode::Binary;
            check(encoder.frame(out, op, { std::string_view(payload).substr(at, n) }, last),
                  "encode fragment");
            at += n;
            if (!last && in.ConsumeBool()) { // a Ping between fragments
                check(encoder.ping(out, "between"), "encode ping");
                want.push_back({ Kind::Ping, "between", 0 });
            }
        }
        want.push_back({ text ? Kind::Text : Kind::Binary, payload, 0 });
    }
    check(encoder.close(out, ws::kCloseGoingAway, "done"), "encode close");
    want.push_back({ Kind::Close, "done", ws::kCloseGoingAway });
    wire = std::string(out.view());
}

void roundTrip(const std::uint8_t *data, std::size_t size, std::uint32_t seed)
{
    Lcg masks{ seed };
    ws::Encoder client([&masks] {
        const std::uint32_t r = masks.next();
        return ws::Mask{ static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(r >> 8),
                         static_cast<std::uint8_t>(r >> 16), static_cast<std::uint8_t>(r >> 24) };
    });
    ws::Encoder server;
    for (auto *encoder : { &client, &server }) {
        FuzzedDataProvider in(data, size);
        std::string wire;
        std::vector<Got> want;
        script(in, *encoder, wire, want);
        const auto role = encoder == &client ? ws::Role::Server : ws::Role::Client;
        Lcg rng{ seed };
        check(decode(role, 4 * 600, wire, &rng) == want, "decode(encode(x)) != x");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    FuzzedDataProvider input(data, size);
    const bool server = input.ConsumeBool();
    const auto maxMessage = input.ConsumeIntegralInRange<std::size_t>(0, 300);
    const auto seed = input.ConsumeIntegral<std::uint32_t>();
    const std::string wire = input.ConsumeRemainingBytesAsString();
    arbitrary(server ? ws::Role::Server : ws::Role::Client, maxMessage, seed, wire);
    roundTrip(reinterpret_cast<const std::uint8_t *>(wire.data()), wire.size(), seed);
    return 0;
}
