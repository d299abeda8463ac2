#include "safe_text.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace pisock {

namespace {

constexpr char kHex[] = "0123456789abcdef";

bool continuation(unsigned char byte) noexcept
{
    return (byte & 0xc0) == 0x80;
}

// The three ways escaped text is written: counted, into a buffer, appended to a string.
struct Counter {
    std::size_t size = 0;
    std::size_t limit = SIZE_MAX; // past it, counting may stop
    void append(const char *, std::size_t n) noexcept { size += n; }
    [[nodiscard]] bool full() const noexcept { return size > limit; }
};

struct Writer {
    char *out;
    void append(const char *p, std::size_t n) noexcept
    {
        if (n > 0)
            std::memcpy(out, p, n);
        out += n;
    }
    [[nodiscard]] static bool full() noexcept { return false; }
};

struct Appender {
    std::string &out;
    void append(const char *p, std::size_t n) { out.append(p, n); }
    [[nodiscard]] static bool full() noexcept { return false; }
};

template<typename Out> void appendByte(Out &out, unsigned char byte)
{
    const char text[4] = { '\\', 'x', kHex[byte >> 4], kHex[byte & 0xf] };
    out.append(text, sizeof(text));
}

template<typename Out> void appendCodePoint(Out &out, char32_t code)
{
    // Every character the rule escapes is in the Basic Multilingual Plane: four digits.
    const char text[6] = { '\\',
                           'u',
                           kHex[(code >> 12) & 0xf],
                           kHex[(code >> 8) & 0xf],
                           kHex[(code >> 4) & 0xf],
                           kHex[code & 0xf] };
    out.append(text, sizeof(text));
}

template<typename Out> void escapeTo(std::string_view text, Out &out)
{
    std::size_t run = 0; // start of the bytes that pass as they are, not yet appended
    std::size_t i = 0;
    auto flush = [&](std::size_t end) { out.append(text.data() + run, end - run); };
    while (i < text.size()) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if ((byte >= 0x20 && byte < 0x7f) || byte == '\t') {
            ++i; // the common case: printable ASCII
            continue;
        }
        const Utf8Char c = byte < 0x80 ? Utf8Char{ byte, 1 } : decodeUtf8(text.substr(i));
        if (c.length != 0 && !isUnsafeCodePoint(c.code)) {
            i += c.length;
            continue;
        }
        flush(i);
        if (c.length == 0 || c.code < 0x80)
            appendByte(out, byte);
        else
            appendCodePoint(out, c.code);
        i += c.length == 0 ? 1 : c.length; // an invalid sequence: one byte, then look again
        run = i;
    }
    flush(i);
}

template<typename Out> void broadcastTo(std::string_view prefix, std::string_view message, Out &out)
{
    for (std::string_view rest = message;;) {
        const auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        if (nl != std::string_view::npos && line.ends_with('\r'))
            line.remove_suffix(1);
        out.append(prefix.data(), prefix.size());
        escapeTo(line, out);
        out.append("\n", 1);
        if (nl == std::string_view::npos || out.full())
            return;
        rest.remove_prefix(nl + 1);
    }
}

} // namespace

Utf8Char decodeUtf8(std::string_view text) noexcept
{
    if (text.empty())
        return {};
    const auto *s = reinterpret_cast<const unsigned char *>(text.data());
    const unsigned char lead = s[0];
    if (lead < 0x80)
        return { lead, 1 };
    std::size_t length = 0;
    char32_t code = 0;
    unsigned char low = 0x80; // the range of the second byte, narrower after some leads
    unsigned char high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
        code = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        code = lead & 0x0f;
        low = lead == 0xe0 ? 0xa0 : 0x80; // no overlong forms
        high = lead == 0xed ? 0x9f : 0xbf; // no surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        code = lead & 0x07;
        low = lead == 0xf0 ? 0x90 : 0x80; // no overlong forms
        high = lead == 0xf4 ? 0x8f : 0xbf; // nothing past U+10FFFF
    } else {
        return {}; // a continuation byte, C0, C1 (overlong) or F5..FF
    }
    if (text.size() < length || s[1] < low || s[1] > high)
        return {};
    for (std::size_t i = 1; i < length; ++i) {
        if (!continuation(s[i]))
            return {};
        code = (code << 6) | (s[i] & 0x3f);
    }
    return { code, length };
}

bool isUnsafeCodePoint(char32_t code) noexcept
{
    if (code < 0x20)
        return code != '\t';
    if (code >= 0x7f && code <= 0x9f) // DEL and the C1 controls
        return true;
    switch (code) {
    case 0x061c: // Arabic letter mark
    case 0x200e: // left-to-right mark
    case 0x200f: // right-to-left mark
    case 0x2028: // line separator
    case 0x2029: // paragraph separator
        return true;
    default:
        break;
    }
    return (code >= 0x202a && code <= 0x202e) || // embeddings and overrides
           (code >= 0x2066 && code <= 0x2069); // isolates
}

std::string escapeText(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    Appender appender{ out };
    escapeTo(text, appender);
    return out;
}

std::size_t broadcastLinesSize(std::string_view prefix, std::string_view message,
                               std::size_t limit) noexcept
{
    if (limit != SIZE_MAX) {
        // A bound first, in one pass: every line costs at least the prefix and its newline,
        // the text loses at most a \r and the \n per line, and escaping never shrinks it.
        const auto newlines =
                static_cast<std::size_t>(std::count(message.begin(), message.end(), '\n'));
        const std::size_t text = message.size() > 2 * newlines ? message.size() - 2 * newlines : 0;
        const std::size_t atLeast = (newlines + 1) * (prefix.size() + 1) + text;
        if (atLeast > limit)
            return atLeast;
    }
    Counter counter;
    counter.limit = limit;
    broadcastTo(prefix, message, counter);
    return counter.size;
}

void writeBroadcastLines(std::string_view prefix, std::string_view message, char *out) noexcept
{
    Writer writer{ out };
    broadcastTo(prefix, message, writer);
}

} // namespace pisock
