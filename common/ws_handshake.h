#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "buffer.h"
#include "http_head.h"

// The opening handshake (RFC 6455 section 4) over HTTP/1.1, the server's side: it reads a
// request and answers it (101, the page, or an error status). Keys and accept values are
// shared with the client's side, in ws_client_handshake.h. SHA-1 and base64 come from nettle
// (ws_handshake.cpp says why nettle).
namespace pisock::ws {

// What the server does with a request.
enum class Route {
    Upgrade, // a valid WebSocket handshake, on any path: writeAccept()
    Page, // GET or HEAD of "/" (any query): the page, or 404 if it is off
    NotFound, // GET or HEAD of another path: 404
    MethodNotAllowed, // neither GET nor HEAD, or an upgrade by another method: 405
    UpgradeRequired, // a WebSocket handshake for a version other than 13: 426
    BadRequest, // malformed, or an incomplete WebSocket handshake: 400
    TooLarge, // no end of head within the bound: 431
};

// A request head as the server judged it. The views point into the input Buffer: they stay
// valid until it is next written to (consuming the head does not end them).
struct Request {
    Route route = Route::BadRequest;
    const char *reason = ""; // what was wrong (routes other than Upgrade and Page), one line
    std::size_t size = 0; // bytes of the head, to consume when done (0 when TooLarge)
    bool head = false; // HEAD: answer without a body
    std::string_view method;
    std::string_view target; // as sent
    std::string_view path; // target without its query, "/" for an absolute URI without one
    std::string_view host; // Host, empty if absent
    bool hasOrigin = false; // browsers always send Origin; other clients may not
    std::string_view origin;
    std::string_view key; // Sec-WebSocket-Key (Upgrade)
    std::string_view protocols; // Sec-WebSocket-Protocol as requested: always declined
};

// Reads a client's request head from a Buffer, incrementally and bounded by maxHead bytes,
// and routes it. Owns only its scan state; borrows the Buffer on each call.
class RequestParser
{
public:
    explicit RequestParser(std::size_t maxHead = http::kMaxHead) noexcept : scanner_(maxHead) {}

    // False until the head is whole (or over the bound); then true with request filled. The
    // head stays in the Buffer until the caller consumes request.size bytes: bytes after it
    // (frames a client sent early) are left in place.
    bool parse(Buffer &in, Request &request) noexcept;

private:
    http::HeadScanner scanner_;
};

// Routes a whole request head (for parse() and tests).
Request route(std::string_view head) noexcept;

// True if a handshake's Origin is the page's own: "http://" or "https://" and then its Host,
// ignoring case.
[[nodiscard]] bool isSameOrigin(std::string_view origin, std::string_view host) noexcept;

// Sec-WebSocket-Accept for a key: base64(SHA-1(key + the RFC 6455 GUID)), 28 characters.
inline constexpr std::size_t kAcceptLength = 28;
std::array<char, kAcceptLength> acceptFor(std::string_view key) noexcept;
// A Sec-WebSocket-Key is the base64 of 16 random bytes (24 characters).
inline constexpr std::size_t kKeyBytes = 16;
inline constexpr std::size_t kKeyLength = 24;
[[nodiscard]] bool isValidKey(std::string_view key) noexcept;
// The key for 16 random bytes from the caller (a client's, e.g. from getrandom()).
std::string makeKey(const std::array<std::uint8_t, kKeyBytes> &random);

// Response writers. Each appends a whole response to out, or nothing and returns false if out
// has no room (or memory is short). Every response but the 101 says "Connection: close": the
// server sends it and closes.
bool writeAccept(Buffer &out, std::string_view key) noexcept; // 101 Switching Protocols
// 200 with an HTML page (head: without the body), never cached stale, with a strict
// Content-Security-Policy: its inline style and script and WebSocket connections, nothing else.
bool writePage(Buffer &out, std::string_view html, bool head = false) noexcept;
// 400, 403, 404, 405 (Allow: GET, HEAD), 426 (Sec-WebSocket-Version: 13), 431 or 503 (any
// other status: 500), with a one-line text body naming the status (head: without it).
bool writeError(Buffer &out, int status, bool head = false) noexcept;
// The HTTP status the server answers a route with (200 for Page, 101 for Upgrade).
[[nodiscard]] int statusFor(Route route) noexcept;

} // namespace pisock::ws
