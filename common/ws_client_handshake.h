#pragma once

#include <array>
#include <string_view>

#include "buffer.h"
#include "http_head.h"
#include "ws_handshake.h"

// The client's side of the opening handshake (RFC 6455 4.1), for pisock ws://.
namespace pisock::ws {

// Appends the request for ws://host/path: host is the Host field ("name:port"), path starts
// with '/' (empty: "/"), key comes from makeKey(). False, and nothing appended, if out lacks
// room or host or path holds spaces or control characters.
bool writeRequest(Buffer &out, std::string_view host, std::string_view path,
                  std::string_view key) noexcept;

// Reads the server's answer to writeRequest() and checks it is the 101 for key. Owns a copy
// of the expected Sec-WebSocket-Accept and what it found; borrows the Buffer on each call.
class ResponseParser
{
public:
    enum class Result { NeedMore, Accepted, Refused };

    explicit ResponseParser(std::string_view key) noexcept : accept_(acceptFor(key)) {}

    // Accepted: the head is consumed; frames the server sent after it stay in in. Refused:
    // reason() says why (and status() is the HTTP status, 0 if there was none).
    Result parse(Buffer &in) noexcept;
    [[nodiscard]] int status() const noexcept { return status_; }
    [[nodiscard]] const char *reason() const noexcept { return reason_; }

private:
    Result refuse(const char *reason) noexcept;
    Result check(std::string_view head) noexcept;

    std::array<char, kAcceptLength> accept_;
    http::HeadScanner scanner_;
    int status_ = 0;
    const char *reason_ = "";
};

} // namespace pisock::ws
