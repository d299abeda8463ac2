#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pisock {

// Bytes a peer chose (or a file, or a process name in /proc) made safe to show, for the two
// places that show them: the log, and the lines broadcast mode sends to the other clients.
// One rule for both:
//
// - valid UTF-8 passes untouched (Chinese, accents, emoji), and so does a tab;
// - shown escaped: the C0 controls and DEL (as \x1b), every byte that is not part of valid
//   UTF-8 (\xff; raw C1 bytes such as 0x85 or 0x9b are among them), and the characters that
//   end a line or steer a terminal or a bidirectional display: the C1 controls written in
//   UTF-8 (\u0085, \u009b), the line and paragraph separators (\u2028, \u2029) and the bidi
//   controls (\u061c, \u200e, \u200f, \u202a to \u202e, \u2066 to \u2069).
//
// So what comes out is valid UTF-8 with no control character but tab: no reader, whether it
// splits lines at \n, at any Unicode line break (Python's str.splitlines()) or is a terminal,
// sees a new line start inside it. A backslash is not doubled: the text stays as typed, and
// is only ambiguous to someone who types escapes on purpose.

// One UTF-8 sequence at the start of text: its code point and length in bytes. length is 0
// when text does not start with a valid sequence: empty, a stray continuation byte, a
// truncated sequence, an overlong form, a surrogate or past U+10FFFF (RFC 3629).
struct Utf8Char {
    char32_t code = 0;
    std::size_t length = 0;
};
Utf8Char decodeUtf8(std::string_view text) noexcept;

// True for the characters the rule above shows escaped (tab is not one).
bool isUnsafeCodePoint(char32_t code) noexcept;

// text with what the rule escapes written as \xNN (a byte) or \uXXXX (a character).
std::string escapeText(std::string_view text);

// Broadcast mode: what every other client receives for one message. The message is cut into
// lines at each \n (with one \r before it, as line framing drops it): raw framing can hand
// over several lines in one message. Each line goes out as prefix, the line escaped, \n. So
// every line a client receives starts with the prefix of the client that sent it.
// Counting stops once past limit (then the result is some size above limit): a message of
// many short lines is refused after as many lines as the limit holds, not after all of them.
std::size_t broadcastLinesSize(std::string_view prefix, std::string_view message,
                               std::size_t limit = SIZE_MAX) noexcept;
// Writes those lines at out: exactly broadcastLinesSize(prefix, message) bytes.
void writeBroadcastLines(std::string_view prefix, std::string_view message, char *out) noexcept;

} // namespace pisock
