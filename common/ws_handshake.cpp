#include "ws_handshake.h"

#include <charconv>
#include <optional>

// SHA-1 and base64 come from nettle (Debian's libnettle8, nettle-dev to build) rather than
// OpenSSL's libcrypto: nettle is small (about 0.5 MB against 6 MB for libssl3), already on
// every Debian and Raspberry Pi OS system (GnuTLS, and so apt, depends on it), and its hash
// and base64 functions are plain calls on a caller's context: no library initialisation, no
// provider lookup, no API deprecated under us as OpenSSL 3 did with SHA1_Init().
#include <nettle/base64.h>
#include <nettle/sha1.h>

namespace pisock::ws {

namespace {

using http::equalsIgnoreCase;

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; // RFC 6455 1.3

// What the handshake needs from the header fields. Those that must appear once are refused
// when repeated; list fields (Connection, Upgrade) may be split over several lines.
struct Fields {
    std::optional<std::string_view> host, origin, key, version;
    std::string_view protocols;
    bool upgradeWebsocket = false;
    bool connectionUpgrade = false;
};

bool once(std::optional<std::string_view> &slot, std::string_view value) noexcept
{
    if (slot)
        return false;
    slot = value;
    return true;
}

// Reads every field; returns what was wrong, or nullptr.
const char *readFields(http::HeadReader &reader, Fields &f) noexcept
{
    http::Field field;
    while (reader.next(field)) {
        const auto &[name, value] = field;
        bool ok = true;
        if (equalsIgnoreCase(name, "Host"))
            ok = once(f.host, value);
        else if (equalsIgnoreCase(name, "Origin"))
            ok = once(f.origin, value);
        else if (equalsIgnoreCase(name, "Sec-WebSocket-Key"))
            ok = once(f.key, value);
        else if (equalsIgnoreCase(name, "Sec-WebSocket-Version"))
            ok = once(f.version, value);
        else if (equalsIgnoreCase(name, "Sec-WebSocket-Protocol") && f.protocols.empty())
            f.protocols = value;
        else if (equalsIgnoreCase(name, "Upgrade"))
            f.upgradeWebsocket = f.upgradeWebsocket || http::hasToken(value, "websocket");
        else if (equalsIgnoreCase(name, "Connection"))
            f.connectionUpgrade = f.connectionUpgrade || http::hasToken(value, "upgrade");
        if (!ok)
            return "a header field that must appear once is repeated";
    }
    return reader.error();
}

bool hasPrefixIgnoreCase(std::string_view s, std::string_view prefix) noexcept
{
    return s.size() >= prefix.size() && equalsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// The path of an origin-form ("/a?b") or absolute-form ("http://host/a?b") target; empty if
// the target is neither.
std::string_view pathOf(std::string_view target) noexcept
{
    for (const std::string_view scheme : { "http://", "https://" }) {
        if (hasPrefixIgnoreCase(target, scheme)) {
            const std::size_t slash = target.find('/', scheme.size());
            target = slash == std::string_view::npos ? "/" : target.substr(slash);
        }
    }
    if (target.empty() || target.front() != '/')
        return {};
    return target.substr(0, target.find('?'));
}

// Splits "METHOD SP target SP HTTP/1.x"; returns what was wrong, or nullptr.
const char *readRequestLine(std::string_view line, Request &r, bool &http11) noexcept
{
    const std::size_t sp1 = line.find(' ');
    const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos)
        return "malformed request line";
    r.method = line.substr(0, sp1);
    r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!http::isToken(r.method))
        return "invalid method";
    for (const char c : r.target)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            return "invalid request target";
    r.path = pathOf(r.target);
    if (r.path.empty())
        return "invalid request target";
    if (version != "HTTP/1.1" && version != "HTTP/1.0")
        return "unsupported HTTP version";
    http11 = version == "HTTP/1.1";
    return nullptr;
}

Request judged(Request r, Route route, const char *reason = "") noexcept
{
    r.route = route;
    r.reason = reason;
    return r;
}

// RFC 6455 4.2.1, in the order that gives the most useful answer.
Request routeUpgrade(const Request &r, const Fields &f, bool http11) noexcept
{
    if (r.method != "GET")
        return judged(r, Route::MethodNotAllowed,
                      "WebSocket handshake with a method other than GET");
    if (!http11)
        return judged(r, Route::BadRequest, "WebSocket handshake over HTTP/1.0");
    if (!f.host || f.host->empty())
        return judged(r, Route::BadRequest, "missing or empty Host field");
    if (!f.connectionUpgrade)
        return judged(r, Route::BadRequest, "Connection field without \"upgrade\"");
    if (!f.version)
        return judged(r, Route::BadRequest, "no Sec-WebSocket-Version field");
    if (*f.version != "13")
        return judged(r, Route::UpgradeRequired, "WebSocket version other than 13");
    if (!f.key || !isValidKey(*f.key))
        return judged(r, Route::BadRequest, "missing or invalid Sec-WebSocket-Key");
    return judged(r, Route::Upgrade);
}

} // namespace

Request route(std::string_view head) noexcept
{
    Request r;
    r.size = head.size();
    http::HeadReader reader(head);
    bool http11 = false;
    if (const char *why = readRequestLine(reader.startLine(), r, http11))
        return judged(r, Route::BadRequest, why);
    Fields f;
    if (const char *why = readFields(reader, f))
        return judged(r, Route::BadRequest, why);
    r.head = r.method == "HEAD";
    r.host = f.host.value_or(std::string_view());
    r.hasOrigin = f.origin.has_value();
    r.origin = f.origin.value_or(std::string_view());
    r.key = f.key.value_or(std::string_view());
    r.protocols = f.protocols;
    if (f.upgradeWebsocket)
        return routeUpgrade(r, f, http11);
    if (r.method != "GET" && r.method != "HEAD")
        return judged(r, Route::MethodNotAllowed, "method other than GET or HEAD");
    if (http11 && !f.host)
        return judged(r, Route::BadRequest, "no Host field");
    if (r.path != "/")
        return judged(r, Route::NotFound, "no such page");
    return judged(r, Route::Page);
}

bool RequestParser::parse(Buffer &in, Request &request) noexcept
{
    std::size_t length = 0;
    switch (scanner_.scan(in, length)) {
    case http::HeadScanner::Result::NeedMore:
        return false;
    case http::HeadScanner::Result::TooLarge:
        request = Request{};
        request.route = Route::TooLarge;
        request.reason = "request head too large";
        return true;
    case http::HeadScanner::Result::Complete:
        break;
    }
    request = route({ in.data(), length });
    return true;
}

bool isSameOrigin(std::string_view origin, std::string_view host) noexcept
{
    for (const std::string_view scheme : { "http://", "https://" })
        if (hasPrefixIgnoreCase(origin, scheme))
            return !host.empty() && equalsIgnoreCase(origin.substr(scheme.size()), host);
    return false;
}

std::array<char, kAcceptLength> acceptFor(std::string_view key) noexcept
{
    sha1_ctx ctx;
    sha1_init(&ctx);
    sha1_update(&ctx, key.size(), reinterpret_cast<const std::uint8_t *>(key.data()));
    sha1_update(&ctx, kGuid.size(), reinterpret_cast<const std::uint8_t *>(kGuid.data()));
    std::uint8_t digest[SHA1_DIGEST_SIZE];
    sha1_digest(&ctx, sizeof digest, digest);
    static_assert(BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE) == kAcceptLength);
    std::array<char, kAcceptLength> accept{};
    base64_encode_raw(accept.data(), sizeof digest, digest);
    return accept;
}

bool isValidKey(std::string_view key) noexcept
{
    // nettle's decoder skips white space: refuse it first, so that only the 24 characters of
    // 16 bytes' base64 pass.
    if (key.size() != kKeyLength || key.find_first_of(" \t") != std::string_view::npos)
        return false;
    base64_decode_ctx ctx;
    base64_decode_init(&ctx);
    std::uint8_t bytes[BASE64_DECODE_LENGTH(kKeyLength)];
    std::size_t n = sizeof bytes;
    return base64_decode_update(&ctx, &n, bytes, key.size(), key.data()) == 1 &&
           base64_decode_final(&ctx) == 1 && n == kKeyBytes;
}

namespace {

std::string_view statusLine(int status) noexcept
{
    switch (status) {
    case 101:
        return "HTTP/1.1 101 Switching Protocols\r\n";
    case 200:
        return "HTTP/1.1 200 OK\r\n";
    case 400:
        return "HTTP/1.1 400 Bad Request\r\n";
    case 403:
        return "HTTP/1.1 403 Forbidden\r\n";
    case 404:
        return "HTTP/1.1 404 Not Found\r\n";
    case 405:
        return "HTTP/1.1 405 Method Not Allowed\r\n";
    case 426:
        return "HTTP/1.1 426 Upgrade Required\r\n";
    case 431:
        return "HTTP/1.1 431 Request Header Fields Too Large\r\n";
    case 503:
        return "HTTP/1.1 503 Service Unavailable\r\n";
    default:
        return "HTTP/1.1 500 Internal Server Error\r\n";
    }
}

// What a status adds to the usual fields.
std::string_view extraFields(int status) noexcept
{
    switch (status) {
    case 405:
        return "Allow: GET, HEAD\r\n";
    case 426:
        return "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n";
    default:
        return {};
    }
}

} // namespace

int statusFor(Route route) noexcept
{
    switch (route) {
    case Route::Upgrade:
        return 101;
    case Route::Page:
        return 200;
    case Route::NotFound:
        return 404;
    case Route::MethodNotAllowed:
        return 405;
    case Route::UpgradeRequired:
        return 426;
    case Route::TooLarge:
        return 431;
    case Route::BadRequest:
        break;
    }
    return 400;
}

bool writeAccept(Buffer &out, std::string_view key) noexcept
{
    const auto accept = acceptFor(key);
    return out.appendAll({ statusLine(101),
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n",
                           "Sec-WebSocket-Accept: ",
                           { accept.data(), accept.size() },
                           "\r\n\r\n" });
}

bool writePage(Buffer &out, std::string_view html, bool head) noexcept
{
    // Inline style and script only; WebSocket connections; no frames, forms or other origins.
    constexpr std::string_view kFields = "\r\nCache-Control: no-cache\r\n"
                                         "X-Content-Type-Options: nosniff\r\n"
                                         "Referrer-Policy: no-referrer\r\n"
                                         "Content-Security-Policy: default-src 'none'; "
                                         "style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                                         "connect-src 'self' ws: wss:; img-src data:; "
                                         "base-uri 'none'; form-action 'none'; "
                                         "frame-ancestors 'none'\r\n"
                                         "Connection: close\r\n\r\n";
    char length[24];
    const auto end = std::to_chars(length, length + sizeof length, html.size()).ptr;
    return out.appendAll({ statusLine(200),
                           "Content-Type: text/html; charset=utf-8\r\n",
                           "Content-Length: ",
                           { length, static_cast<std::size_t>(end - length) },
                           kFields,
                           head ? std::string_view() : html });
}

bool writeError(Buffer &out, int status, bool head) noexcept
{
    // The body is the status line's code and reason: "404 Not Found\n".
    std::string_view body = statusLine(status);
    body.remove_prefix(std::string_view("HTTP/1.1 ").size());
    body.remove_suffix(2);
    char length[24];
    const auto end = std::to_chars(length, length + sizeof length, body.size() + 1).ptr;
    return out.appendAll({ statusLine(status),
                           extraFields(status),
                           "Content-Type: text/plain; charset=utf-8\r\nContent-Length: ",
                           { length, static_cast<std::size_t>(end - length) },
                           "\r\nConnection: close\r\n\r\n",
                           head ? std::string_view() : body,
                           head ? std::string_view() : "\n" });
}

std::string makeKey(const std::array<std::uint8_t, kKeyBytes> &random)
{
    std::string key(kKeyLength, '\0');
    base64_encode_raw(key.data(), random.size(), random.data());
    return key;
}

} // namespace pisock::ws
