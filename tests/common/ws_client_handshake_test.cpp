#include "common/ws_client_handshake.h"

#include <string>

#include "tests/catch.h"

using namespace pisock;
using Result = ws::ResponseParser::Result;

namespace {

const std::string kKey = "dGhlIHNhbXBsZSBub25jZQ==";

std::string accept101(std::string_view key)
{
    Buffer out;
    REQUIRE(ws::writeAccept(out, key));
    return std::string(out.view());
}

// What a parser expecting kKey makes of text fed chunk bytes at a time.
Result check(const std::string &text, std::size_t chunk, int *status = nullptr)
{
    ws::ResponseParser parser(kKey);
    Buffer in;
    Result r = Result::NeedMore;
    for (std::size_t pos = 0; pos < text.size() && r == Result::NeedMore; pos += chunk) {
        REQUIRE(in.append(text.substr(pos, chunk)));
        r = parser.parse(in);
    }
    if (status)
        *status = parser.status();
    if (r == Result::Refused)
        CHECK(*parser.reason() != '\0');
    return r;
}

Result checkBoth(const std::string &text, int *status = nullptr)
{
    const Result whole = check(text, text.size(), status);
    CHECK(check(text, 1) == whole);
    return whole;
}

// The 101 with one line replaced.
std::string with(const std::string &from, const std::string &to)
{
    std::string s = accept101(kKey);
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
}

} // namespace

TEST_CASE("the client's request is what RFC 6455 4.1 asks for, and the server upgrades it", "[ws]")
{
    Buffer out;
    REQUIRE(ws::writeRequest(out, "pi.local:8080", "/chat", kKey));
    CHECK(out.view() == "GET /chat HTTP/1.1\r\n"
                        "Host: pi.local:8080\r\n"
                        "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n"
                        "\r\n");
    const auto r = ws::route(out.view());
    CHECK(r.route == ws::Route::Upgrade);
    CHECK(r.key == kKey);
    CHECK(r.host == "pi.local:8080");
    CHECK_FALSE(r.hasOrigin);
}

TEST_CASE("the client's request for an empty path asks for /", "[ws]")
{
    Buffer out;
    REQUIRE(ws::writeRequest(out, "[::1]:8080", "", kKey));
    CHECK(out.view().starts_with("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n"));
}

TEST_CASE("a host or path with spaces or controls is not written", "[ws]")
{
    Buffer out;
    CHECK_FALSE(ws::writeRequest(out, "pi\r\nEvil: 1", "/", kKey));
    CHECK_FALSE(ws::writeRequest(out, "pi", "/a b", kKey));
    CHECK_FALSE(ws::writeRequest(out, "pi", "chat", kKey));
    CHECK_FALSE(ws::writeRequest(out, "", "/", kKey));
    CHECK(out.empty());
}

TEST_CASE("the server's 101 is accepted whole or byte by byte; frames after it stay", "[ws]")
{
    CHECK(checkBoth(accept101(kKey)) == Result::Accepted);
    ws::ResponseParser parser(kKey);
    Buffer in;
    REQUIRE(in.append(accept101(kKey) + "\x81\x02hi"));
    CHECK(parser.parse(in) == Result::Accepted);
    CHECK(parser.status() == 101);
    CHECK(in.view() == "\x81\x02hi");
}

TEST_CASE("another status than 101 is refused, with the status", "[ws]")
{
    Buffer out;
    REQUIRE(ws::writeError(out, 404));
    int status = 0;
    CHECK(checkBoth(std::string(out.view()), &status) == Result::Refused);
    CHECK(status == 404);
    CHECK(checkBoth("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &status) == Result::Refused);
    CHECK(status == 200);
}

TEST_CASE("a 101 for another key, or without the upgrade fields, is refused", "[ws]")
{
    CHECK(checkBoth(accept101("AAAAAAAAAAAAAAAAAAAAAA==")) == Result::Refused);
    CHECK(checkBoth(with("Upgrade: websocket\r\n", "")) == Result::Refused);
    CHECK(checkBoth(with("Connection: Upgrade\r\n", "Connection: keep-alive\r\n")) ==
          Result::Refused);
    CHECK(checkBoth(with("Upgrade: websocket\r\n", "upgrade: WebSocket\r\n")) == Result::Accepted);
}

TEST_CASE("a 101 choosing an extension or subprotocol the client did not offer is refused", "[ws]")
{
    CHECK(checkBoth(
                  with("Upgrade: websocket\r\n",
                       "Upgrade: websocket\r\nSec-WebSocket-Extensions: permessage-deflate\r\n")) ==
          Result::Refused);
    CHECK(checkBoth(with("Upgrade: websocket\r\n",
                         "Upgrade: websocket\r\nSec-WebSocket-Protocol: chat\r\n")) ==
          Result::Refused);
}

TEST_CASE("something other than an HTTP response is refused", "[ws]")
{
    int status = -1;
    CHECK(checkBoth("SSH-2.0-OpenSSH_9.2\r\n\r\n", &status) == Result::Refused);
    CHECK(status == 0);
    CHECK(checkBoth("HTTP/1.1 1x1 Nope\r\n\r\n") == Result::Refused);
    CHECK(checkBoth(std::string(20000, 'x')) == Result::Refused);
}
