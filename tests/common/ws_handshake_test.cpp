#include "common/ws_handshake.h"

#include <string>

#include "tests/catch.h"

using namespace pisock;
using ws::Route;

namespace {

// RFC 6455 section 1.3's client handshake.
const std::string kRfcRequest = "GET /chat HTTP/1.1\r\n"
                                "Host: server.example.com\r\n"
                                "Upgrade: websocket\r\n"
                                "Connection: Upgrade\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Origin: http://example.com\r\n"
                                "Sec-WebSocket-Protocol: chat, superchat\r\n"
                                "Sec-WebSocket-Version: 13\r\n"
                                "\r\n";

// What the parser decides for text fed chunk bytes at a time (0: whole); route, reason and
// the size of the head, checked to be the same when fed one byte at a time.
struct Decision {
    Route route;
    std::string reason;
    std::size_t size;
    std::string key;

    bool operator==(const Decision &) const = default;
};

Decision parse(const std::string &text, std::size_t chunk)
{
    ws::RequestParser parser;
    Buffer in;
    ws::Request request;
    bool done = false;
    for (std::size_t pos = 0; pos < text.size() && !done; pos += chunk) {
        REQUIRE(in.append(text.substr(pos, chunk)));
        done = parser.parse(in, request);
    }
    if (!done)
        return { Route::BadRequest, "incomplete", 0, {} };
    return { request.route, request.reason, request.size, std::string(request.key) };
}

Route routeOf(const std::string &text)
{
    const auto whole = parse(text, text.size());
    CHECK(parse(text, 1) == whole);
    INFO(whole.reason);
    return whole.route;
}

// A valid handshake with one field replaced (or removed, with an empty value).
std::string upgradeWith(const std::string &name, const std::string &value)
{
    std::string head = "GET / HTTP/1.1\r\n";
    const std::pair<std::string, std::string> fields[] = {
        { "Host", "pi:8080" },
        { "Upgrade", "websocket" },
        { "Connection", "Upgrade" },
        { "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==" },
        { "Sec-WebSocket-Version", "13" },
    };
    for (const auto &[n, v] : fields) {
        const std::string &use = n == name ? value : v;
        if (!use.empty())
            head += n + ": " + use + "\r\n";
    }
    return head + "\r\n";
}

std::string written(bool (*write)(Buffer &, int, bool), int status, bool head = false)
{
    Buffer out;
    REQUIRE(write(out, status, head));
    return std::string(out.view());
}

} // namespace

TEST_CASE("RFC 6455 1.3: the accept value for the sample key", "[ws]")
{
    const auto accept = ws::acceptFor("dGhlIHNhbXBsZSBub25jZQ==");
    CHECK(std::string(accept.data(), accept.size()) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK(ws::makeKey({ 't', 'h', 'e', ' ', 's', 'a', 'm', 'p', 'l', 'e', ' ', 'n', 'o', 'n', 'c',
                        'e' }) == "dGhlIHNhbXBsZSBub25jZQ==");
}

TEST_CASE("RFC 6455 1.3: the sample handshake is upgraded, whole or byte by byte", "[ws]")
{
    CHECK(routeOf(kRfcRequest) == Route::Upgrade);
    Buffer in;
    REQUIRE(in.append(kRfcRequest));
    ws::RequestParser parser;
    ws::Request r;
    REQUIRE(parser.parse(in, r));
    CHECK(r.size == kRfcRequest.size());
    CHECK(r.method == "GET");
    CHECK(r.path == "/chat");
    CHECK(r.host == "server.example.com");
    CHECK(r.hasOrigin);
    CHECK(r.origin == "http://example.com");
    CHECK(r.protocols == "chat, superchat"); // noted, and declined: the 101 names none
    Buffer out;
    REQUIRE(ws::writeAccept(out, r.key));
    CHECK(out.view() == "HTTP/1.1 101 Switching Protocols\r\n"
                        "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n"
                        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                        "\r\n");
}

TEST_CASE("field names and tokens are matched whatever their case; lists may be split", "[ws]")
{
    CHECK(routeOf("GET / HTTP/1.1\r\nhost: pi\r\nUPGRADE: WebSocket\r\n"
                  "connection: keep-alive, Upgrade\r\nsec-websocket-key: "
                  "dGhlIHNhbXBsZSBub25jZQ==\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n") ==
          Route::Upgrade);
    CHECK(routeOf("GET / HTTP/1.1\r\nHost: pi\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
                  "Connection: upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n") == Route::Upgrade);
}

TEST_CASE("a WebSocket version other than 13 gets 426 naming version 13", "[ws]")
{
    CHECK(routeOf(upgradeWith("Sec-WebSocket-Version", "8")) == Route::UpgradeRequired);
    CHECK(ws::statusFor(Route::UpgradeRequired) == 426);
    const auto response = written(ws::writeError, 426);
    CHECK(response.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
    CHECK(response.find("\r\nSec-WebSocket-Version: 13\r\n") != std::string::npos);
}

TEST_CASE("an incomplete or malformed handshake gets 400", "[ws]")
{
    CHECK(routeOf(upgradeWith("Sec-WebSocket-Version", "")) == Route::BadRequest);
    CHECK(routeOf(upgradeWith("Sec-WebSocket-Key", "")) == Route::BadRequest);
    CHECK(routeOf(upgradeWith("Host", "")) == Route::BadRequest);
    std::string emptyHost = upgradeWith("Host", "");
    emptyHost.insert(emptyHost.size() - 2, "Host:\r\n");
    CHECK(routeOf(emptyHost) == Route::BadRequest);
    CHECK(routeOf(upgradeWith("Connection", "keep-alive")) == Route::BadRequest);
    for (const char *key :
         { "not base64 at all!!!!!!!", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ",
           "dGhlIHNhbXBsZSBub25jZWU=", "dGhlIHNhbXBsZSBub25jZWVl", "dGhlIHNhbXBs ZSBub25jZQ==" }) {
        INFO(key);
        CHECK_FALSE(ws::isValidKey(key));
        CHECK(routeOf(upgradeWith("Sec-WebSocket-Key", key)) == Route::BadRequest);
    }
    std::string http10 = upgradeWith("", "");
    http10.replace(http10.find("HTTP/1.1"), 8, "HTTP/1.0");
    CHECK(routeOf(http10) == Route::BadRequest);
}

TEST_CASE("a handshake by another method than GET gets 405", "[ws]")
{
    std::string post = upgradeWith("", "");
    post.replace(0, 3, "POST");
    CHECK(routeOf(post) == Route::MethodNotAllowed);
}

TEST_CASE("plain requests: the page at /, 404 elsewhere, 405 for other methods", "[ws]")
{
    CHECK(routeOf("GET / HTTP/1.1\r\nHost: pi\r\n\r\n") == Route::Page);
    CHECK(routeOf("GET /?lang=zh HTTP/1.1\r\nHost: pi\r\n\r\n") == Route::Page);
    CHECK(routeOf("GET http://pi:8080/ HTTP/1.1\r\nHost: pi:8080\r\n\r\n") == Route::Page);
    CHECK(routeOf("GET http://pi:8080 HTTP/1.1\r\nHost: pi:8080\r\n\r\n") == Route::Page);
    CHECK(routeOf("GET / HTTP/1.0\r\n\r\n") == Route::Page);
    CHECK(routeOf("HEAD / HTTP/1.1\r\nHost: pi\r\n\r\n") == Route::Page);
    CHECK(routeOf("GET /index.html HTTP/1.1\r\nHost: pi\r\n\r\n") == Route::NotFound);
    CHECK(routeOf("GET /favicon.ico HTTP/1.1\r\nHost: pi\r\n\r\n") == Route::NotFound);
    CHECK(routeOf("POST / HTTP/1.1\r\nHost: pi\r\nContent-Length: 0\r\n\r\n") ==
          Route::MethodNotAllowed);
    CHECK(routeOf("get / HTTP/1.1\r\nHost: pi\r\n\r\n") == Route::MethodNotAllowed);
    CHECK(routeOf("GET / HTTP/1.1\r\n\r\n") == Route::BadRequest); // HTTP/1.1 needs Host
}

TEST_CASE("a HEAD request is marked so that the answer has no body", "[ws]")
{
    Buffer in;
    REQUIRE(in.append("HEAD / HTTP/1.1\r\nHost: pi\r\n\r\n"));
    ws::RequestParser parser;
    ws::Request r;
    REQUIRE(parser.parse(in, r));
    CHECK(r.head);
    Buffer out;
    REQUIRE(ws::writePage(out, "<p>hi</p>", true));
    CHECK(out.view().ends_with("Content-Length: 9\r\n") == false);
    CHECK(out.view().find("Content-Length: 9\r\n") != std::string_view::npos);
    CHECK(out.view().ends_with("\r\n\r\n"));
}

TEST_CASE("malformed request heads get 400", "[ws]")
{
    for (const char *head : {
                 "GARBAGE\r\n\r\n",
                 "GET /\r\n\r\n",
                 "GET  / HTTP/1.1\r\nHost: pi\r\n\r\n",
                 "GET / HTTP/1.1 extra\r\nHost: pi\r\n\r\n",
                 "GET / HTTP/2.0\r\nHost: pi\r\n\r\n",
                 "GET * HTTP/1.1\r\nHost: pi\r\n\r\n",
                 "GET / HTTP/1.1\r\nHost pi\r\n\r\n",
                 "GET / HTTP/1.1\r\nHost : pi\r\n\r\n",
                 "GET / HTTP/1.1\r\nHost: pi\r\n folded\r\n\r\n",
                 "GET / HTTP/1.1\r\nHost: p\x01i\r\n\r\n",
                 "GET / HTTP/1.1\r\nHost: pi\rX: y\r\n\r\n",
                 "GET / HTTP/1.1\r\nHost: pi\r\nHost: pi\r\n\r\n",
         }) {
        INFO(head);
        CHECK(routeOf(head) == Route::BadRequest);
    }
    CHECK(routeOf(std::string("GET / HTTP/1.1\r\nHost: p\0i\r\n\r\n", 29)) == Route::BadRequest);
}

TEST_CASE("a key, version or origin given twice gets 400", "[ws]")
{
    for (const char *field : { "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                               "Sec-WebSocket-Version: 13\r\n", "Origin: http://pi\r\n" }) {
        std::string head = upgradeWith("", "");
        head.insert(head.size() - 2, std::string(field) + field);
        INFO(field);
        CHECK(routeOf(head) == Route::BadRequest);
    }
}

TEST_CASE("a request head over 8 KiB gets 431, however it arrives", "[ws]")
{
    std::string big = "GET / HTTP/1.1\r\nHost: pi\r\nX-Filler: ";
    const std::string end = "\r\n\r\n";
    big += std::string(8 * kKiB - big.size() - end.size(), 'f') + end;
    REQUIRE(big.size() == 8 * kKiB);
    CHECK(routeOf(big) == Route::Page);
    big.insert(big.size() - end.size(), 1, 'f');
    CHECK(routeOf(big) == Route::TooLarge);
    CHECK(routeOf(std::string(20000, 'a')) == Route::TooLarge); // never ends
    CHECK(routeOf(std::string(20000, '\n')) == Route::TooLarge); // empty lines count too
    CHECK(written(ws::writeError, 431).starts_with("HTTP/1.1 431 "));
}

TEST_CASE("lines may end in a bare LF, and empty lines before a request are skipped", "[ws]")
{
    CHECK(routeOf("GET / HTTP/1.1\nHost: pi\n\n") == Route::Page);
    CHECK(routeOf("\r\n\r\nGET / HTTP/1.1\r\nHost: pi\r\n\r\n") == Route::Page);
    CHECK(routeOf("GET / HTTP/1.1\r\nHost: pi\n\r\n") == Route::Page);
}

TEST_CASE("bytes after the request head stay in the input for the frame decoder", "[ws]")
{
    Buffer in;
    REQUIRE(in.append(kRfcRequest + "\x81\x85"));
    ws::RequestParser parser;
    ws::Request r;
    REQUIRE(parser.parse(in, r));
    CHECK(r.route == Route::Upgrade);
    in.consume(r.size);
    CHECK(in.view() == "\x81\x85");
}

TEST_CASE("the page's own origin is recognised, with http or https", "[ws]")
{
    CHECK(ws::isSameOrigin("http://pi:8080", "pi:8080"));
    CHECK(ws::isSameOrigin("HTTPS://Pi.local", "pi.local"));
    CHECK_FALSE(ws::isSameOrigin("http://evil.example", "pi:8080"));
    CHECK_FALSE(ws::isSameOrigin("http://pi:8080", "pi:8081"));
    CHECK_FALSE(ws::isSameOrigin("null", "pi"));
    CHECK_FALSE(ws::isSameOrigin("http://", ""));
}

TEST_CASE("the page is served with its length, type and cache headers", "[ws]")
{
    const std::string html = "<!doctype html><title>你好</title>";
    Buffer out;
    REQUIRE(ws::writePage(out, html));
    const auto text = std::string(out.view());
    CHECK(text.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(text.find("\r\nContent-Type: text/html; charset=utf-8\r\n") != std::string::npos);
    CHECK(text.find("\r\nContent-Length: " + std::to_string(html.size()) + "\r\n") !=
          std::string::npos);
    CHECK(text.find("\r\nCache-Control: no-cache\r\n") != std::string::npos);
    CHECK(text.find("\r\nContent-Security-Policy: default-src 'none';") != std::string::npos);
    CHECK(text.find("\r\nConnection: close\r\n") != std::string::npos);
    CHECK(text.ends_with("\r\n\r\n" + html));
}

TEST_CASE("error responses name their status in a short body and close", "[ws]")
{
    CHECK(written(ws::writeError, 404) == "HTTP/1.1 404 Not Found\r\n"
                                          "Content-Type: text/plain; charset=utf-8\r\n"
                                          "Content-Length: 14\r\n"
                                          "Connection: close\r\n"
                                          "\r\n"
                                          "404 Not Found\n");
    CHECK(written(ws::writeError, 404, true).ends_with("Connection: close\r\n\r\n"));
    CHECK(written(ws::writeError, 405).find("\r\nAllow: GET, HEAD\r\n") != std::string::npos);
    CHECK(written(ws::writeError, 400).starts_with("HTTP/1.1 400 Bad Request\r\n"));
    CHECK(written(ws::writeError, 403).starts_with("HTTP/1.1 403 Forbidden\r\n"));
    CHECK(written(ws::writeError, 503).starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
    CHECK(ws::statusFor(Route::NotFound) == 404);
    CHECK(ws::statusFor(Route::BadRequest) == 400);
    CHECK(ws::statusFor(Route::TooLarge) == 431);
    Buffer small(20);
    CHECK_FALSE(ws::writeError(small, 404));
    CHECK(small.empty());
}
