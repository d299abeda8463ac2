// libFuzzer target: the WebSocket handshake (common/ws_handshake.h, ws_client_handshake.h).
// 1. Arbitrary bytes as a request: the same decision whether they arrive whole or split
//    anywhere; a head within the 8 KiB bound; an Upgrade only with what RFC 6455 asks for,
//    and the 101 written for it accepted by the client's check.
// 2. The same bytes as the server's answer: the client's verdict does not depend on the
//    split, and leaves the same bytes after the head.
// 3. A request the client writes, for a host and path taken from the bytes, is an Upgrade for
//    that host, path and key.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fuzzer/FuzzedDataProvider.h>
#include <string>

#include "common/buffer.h"
#include "common/http_head.h"
#include "common/ws_client_handshake.h"
#include "common/ws_handshake.h"
#include "tests/fuzz/invariant.h"

using namespace pisock;
using pisock::fuzz::check;
using pisock::fuzz::fail;

namespace {

struct Lcg {
    std::uint32_t state;
    std::uint32_t next() { return state = state * 1664525u + 1013904223u; }
};

// A request as decided, copied out of the buffer it points into.
struct Decision {
    ws::Route route = ws::Route::BadRequest;
    std::string reason, method, target, path, host, origin, key, protocols;
    std::size_t size = 0;
    bool head = false, hasOrigin = false, decided = false;
    bool operator==(const Decision &) const = default;
};

Decision parseRequest(std::string_view bytes, Lcg *rng)
{
    ws::RequestParser parser;
    Buffer in;
    ws::Request r;
    Decision d;
    for (std::size_t pos = 0; pos < bytes.size() && !d.decided;) {
        const std::size_t n = rng ? 1 + rng->next() % 32 : bytes.size();
        check(in.append(bytes.substr(pos, n)), "append");
        pos += std::min(n, bytes.size() - pos);
        d.decided = parser.parse(in, r);
    }
    if (!d.decided)
        return d;
    check(r.size <= http::kMaxHead && r.size <= in.readable(), "head size");
    d = { r.route,
          r.reason,
          std::string(r.method),
          std::string(r.target),
          std::string(r.path),
          std::string(r.host),
          std::string(r.origin),
          std::string(r.key),
          std::string(r.protocols),
          r.size,
          r.head,
          r.hasOrigin,
          true };
    return d;
}

void request(std::string_view bytes, std::uint32_t seed)
{
    Lcg rng{ seed };
    const Decision whole = parseRequest(bytes, nullptr);
    check(whole == parseRequest(bytes, &rng), "decision depends on how the input was split");
    if (!whole.decided || whole.route != ws::Route::Upgrade)
        return;
    check(whole.method == "GET" && !whole.host.empty() && ws::isValidKey(whole.key),
          "upgrade without what RFC 6455 asks for");
    Buffer out;
    check(ws::writeAccept(out, whole.key), "write 101");
    ws::ResponseParser client(whole.key);
    check(client.parse(out) == ws::ResponseParser::Result::Accepted && out.empty(),
          "the client refuses the server's 101");
}

struct Verdict {
    ws::ResponseParser::Result result;
    int status;
    std::string rest;
    bool operator==(const Verdict &) const = default;
};

Verdict parseResponse(std::string_view bytes, Lcg *rng)
{
    using Result = ws::ResponseParser::Result;
    ws::ResponseParser parser("dGhlIHNhbXBsZSBub25jZQ==");
    Buffer in;
    auto result = Result::NeedMore;
    std::size_t pos = 0;
    while (pos < bytes.size() && result == Result::NeedMore) {
        const std::size_t n = rng ? 1 + rng->next() % 32 : bytes.size();
        check(in.append(bytes.substr(pos, n)), "append");
        pos += std::min(n, bytes.size() - pos);
        result = parser.parse(in);
    }
    if (result == Result::Refused)
        check(*parser.reason() != '\0', "refused without a reason");
    if (result != Result::Accepted)
        return { result, parser.status(), {} };
    // What follows the head: left in the buffer, and not yet fed.
    return { result, parser.status(), std::string(in.view()) + std::string(bytes.substr(pos)) };
}

void response(std::string_view bytes, std::uint32_t seed)
{
    Lcg rng{ seed };
    check(parseResponse(bytes, nullptr) == parseResponse(bytes, &rng),
          "verdict depends on how the input was split");
}

void clientRequest(FuzzedDataProvider &in)
{
    const std::string host = in.ConsumeRandomLengthString(64);
    const std::string path = "/" + in.ConsumeRandomLengthString(64);
    std::array<std::uint8_t, ws::kKeyBytes> random{};
    for (auto &b : random)
        b = in.ConsumeIntegral<std::uint8_t>();
    const std::string key = ws::makeKey(random);
    check(ws::isValidKey(key), "makeKey gives an invalid key");
    Buffer out;
    if (!ws::writeRequest(out, host, path, key))
        return; // spaces or controls: refused, as documented
    const ws::Request r = ws::route(out.view());
    check(r.route == ws::Route::Upgrade, "the client's request is not an upgrade");
    check(r.host == host && r.key == key && r.path == path.substr(0, path.find('?')),
          "the client's request says something else");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    FuzzedDataProvider input(data, size);
    const auto seed = input.ConsumeIntegral<std::uint32_t>();
    const std::string bytes = input.ConsumeRemainingBytesAsString();
    request(bytes, seed);
    response(bytes, seed);
    FuzzedDataProvider again(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size());
    clientRequest(again);
    return 0;
}
