#pragma once

#include <cstdint>
#include <string_view>

namespace pisock {

// Checks that bytes are well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// past U+10FFFF), incrementally: a text may be fed in pieces split anywhere, even inside a
// character. Owns only its state (one byte). A table-driven automaton, with a fast path that
// skips 8 ASCII bytes at a time.
class Utf8Validator
{
public:
    // Feeds more bytes; false once the text can no longer be valid (and from then on).
    bool feed(std::string_view bytes) noexcept;
    // True when everything fed so far is valid and ends on a character boundary.
    [[nodiscard]] bool complete() const noexcept { return state_ == kAccept; }
    // False once an invalid byte was fed.
    [[nodiscard]] bool failed() const noexcept { return state_ == kReject; }
    void reset() noexcept { state_ = kAccept; }

    static constexpr std::uint8_t kAccept = 0;
    static constexpr std::uint8_t kReject = 1;

private:
    std::uint8_t state_ = kAccept;
};

// True if text is well-formed UTF-8 as a whole.
bool isValidUtf8(std::string_view text) noexcept;

} // namespace pisock
