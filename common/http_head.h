#pragma once

#include <cstddef>
#include <string_view>

#include "buffer.h"
#include "units.h"

// The little of HTTP/1.1 (RFC 9112) a WebSocket handshake needs: finding the end of a message
// head in a stream, and walking its start line and header fields. Bodies, chunked encoding
// and keep-alive are not needed and not here.
namespace pisock::http {

// A head (start line, fields and the empty line) larger than this is refused.
inline constexpr std::size_t kMaxHead = 8 * kKiB;

// Finds where a message head ends in a Buffer, incrementally: each byte is looked at once
// however the head arrives. Owns only its scan position; borrows the Buffer on each call.
// Lines may end in CRLF or a bare LF (RFC 9112 2.2); empty lines before the head are dropped.
class HeadScanner
{
public:
    enum class Result { NeedMore, Complete, TooLarge };

    explicit HeadScanner(std::size_t maxHead = kMaxHead) noexcept : maxHead_(maxHead) {}

    // Complete: the head is the first length bytes of in, its empty line included; the caller
    // consumes them when done with it. TooLarge: no end within the bound (then and later).
    Result scan(Buffer &in, std::size_t &length) noexcept;

private:
    std::size_t maxHead_;
    std::size_t scanned_ = 0; // bytes at the head of in known not to end the head
    std::size_t dropped_ = 0; // empty lines dropped before it, counted against the bound
};

struct Field {
    std::string_view name; // as sent: compare with equalsIgnoreCase()
    std::string_view value; // without the spaces and tabs around it
};

// Walks a whole head as HeadScanner delimits it: the start line, then each field. Borrows the
// head. A malformed line (no colon, space before the colon, a name that is not a token, a
// control character, a line folded onto the one before) ends the walk with error() set.
class HeadReader
{
public:
    explicit HeadReader(std::string_view head) noexcept;

    [[nodiscard]] std::string_view startLine() const noexcept { return startLine_; }
    // The next field; false at the end of the head or at a malformed line.
    bool next(Field &field) noexcept;
    // Why the walk stopped early; nullptr if it did not.
    [[nodiscard]] const char *error() const noexcept { return error_; }

private:
    std::string_view line() noexcept;

    std::string_view rest_;
    std::string_view startLine_;
    const char *error_ = nullptr;
};

[[nodiscard]] bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept;
// True if a comma-separated field value holds token, whatever its case
// ("keep-alive, Upgrade" holds "upgrade").
[[nodiscard]] bool hasToken(std::string_view list, std::string_view token) noexcept;
// True for a non-empty RFC 9110 token (method names, field names).
[[nodiscard]] bool isToken(std::string_view s) noexcept;

} // namespace pisock::http
