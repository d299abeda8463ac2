#include "ws_client_handshake.h"

#include <charconv>

namespace pisock::ws {

namespace {

using http::equalsIgnoreCase;

// Field values a request line or Host may carry: no spaces, no controls.
bool isPlain(std::string_view s) noexcept
{
    for (const char c : s)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            return false;
    return true;
}

} // namespace

bool writeRequest(Buffer &out, std::string_view host, std::string_view path,
                  std::string_view key) noexcept
{
    if (path.empty())
        path = "/";
    if (host.empty() || !isPlain(host) || path.front() != '/' || !isPlain(path) || !isPlain(key))
        return false;
    constexpr std::string_view kUpgrade = "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                          "Sec-WebSocket-Key: ";
    return out.appendAll({ "GET ", path, " HTTP/1.1\r\nHost: ", host, kUpgrade, key,
                           "\r\nSec-WebSocket-Version: 13\r\n\r\n" });
}

ResponseParser::Result ResponseParser::refuse(const char *reason) noexcept
{
    reason_ = reason;
    return Result::Refused;
}

ResponseParser::Result ResponseParser::parse(Buffer &in) noexcept
{
    if (*reason_)
        return Result::Refused; // said once, and for good
    std::size_t length = 0;
    switch (scanner_.scan(in, length)) {
    case http::HeadScanner::Result::NeedMore:
        return Result::NeedMore;
    case http::HeadScanner::Result::TooLarge:
        return refuse("response head too large");
    case http::HeadScanner::Result::Complete:
        break;
    }
    const Result result = check({ in.data(), length });
    if (result == Result::Accepted)
        in.consume(length);
    return result;
}

ResponseParser::Result ResponseParser::check(std::string_view head) noexcept
{
    http::HeadReader reader(head);
    const std::string_view line = reader.startLine();
    // "HTTP/1.1 101 Switching Protocols": the version, a space, three digits.
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ' ||
        (line.size() > 12 && line[12] != ' '))
        return refuse("not an HTTP response");
    const auto code = line.substr(9, 3);
    if (std::from_chars(code.data(), code.data() + 3, status_).ptr != code.data() + 3 ||
        status_ < 100)
        return refuse("not an HTTP response");
    if (status_ != 101)
        return refuse("the server did not switch to WebSocket");
    bool upgrade = false, connection = false, accepted = false;
    http::Field field;
    while (reader.next(field)) {
        const auto &[name, value] = field;
        if (equalsIgnoreCase(name, "Upgrade"))
            upgrade = upgrade || http::hasToken(value, "websocket");
        else if (equalsIgnoreCase(name, "Connection"))
            connection = connection || http::hasToken(value, "upgrade");
        else if (equalsIgnoreCase(name, "Sec-WebSocket-Accept"))
            accepted = !accepted && value == std::string_view(accept_.data(), accept_.size());
        else if (equalsIgnoreCase(name, "Sec-WebSocket-Extensions"))
            return refuse("the server chose an extension that was not offered");
        else if (equalsIgnoreCase(name, "Sec-WebSocket-Protocol"))
            return refuse("the server chose a subprotocol that was not offered");
    }
    if (reader.error())
        return refuse(reader.error());
    if (!upgrade || !connection)
        return refuse("the 101 response lacks Upgrade: websocket or Connection: Upgrade");
    if (!accepted)
        return refuse("wrong Sec-WebSocket-Accept");
    return Result::Accepted;
}

} // namespace pisock::ws
