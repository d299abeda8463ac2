// libFuzzer target: the rule for text shown to others (common/safe_text.h) fed arbitrary
// bytes. Checks:
// - escapeText(): valid UTF-8 with no control character but tab and no character the rule
//   escapes; without a backslash in the input, undoing the escapes gives the input back;
// - the broadcast lines: exactly the size computed, one line per \n of the message plus one,
//   each starting with the prefix and, after it, valid UTF-8 with nothing that starts a line
//   (splitlines()) or steers a terminal.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "common/safe_text.h"
#include "tests/fuzz/invariant.h"

using namespace pisock;
using pisock::fuzz::check;
using pisock::fuzz::fail;

namespace {

// Valid UTF-8, and no character the rule escapes (so no line break but tab-free text).
void checkSafe(std::string_view text)
{
    while (!text.empty()) {
        const Utf8Char c = decodeUtf8(text);
        check(c.length != 0, "invalid UTF-8 let through");
        check(!isUnsafeCodePoint(c.code), "unsafe character let through");
        check(c.code != '\n', "newline let through");
        text.remove_prefix(c.length);
    }
}

int hexValue(char c)
{
    return c >= 'a' ? c - 'a' + 10 : c - '0';
}

// Undoes escapeText() for text that had no backslash.
std::string unescape(std::string_view text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
            out.push_back(text[i]);
            continue;
        }
        if (text[i + 1] == 'x') {
            out.push_back(static_cast<char>(hexValue(text[i + 2]) * 16 + hexValue(text[i + 3])));
            i += 3;
            continue;
        }
        unsigned code = 0;
        for (std::size_t k = 2; k < 6; ++k)
            code = code * 16 + static_cast<unsigned>(hexValue(text[i + k]));
        i += 5;
        if (code < 0x800) {
            out.push_back(static_cast<char>(0xc0 | (code >> 6)));
        } else {
            out.push_back(static_cast<char>(0xe0 | (code >> 12)));
            out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
        }
        out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string_view message(reinterpret_cast<const char *>(data), size);
    const std::string escaped = escapeText(message);
    checkSafe(escaped);
    if (message.find('\\') == std::string_view::npos)
        check(unescape(escaped) == message, "escapes do not give the input back");

    const std::string_view prefix = "10.0.0.5:4000: ";
    const std::size_t want = broadcastLinesSize(prefix, message);
    for (const std::size_t limit : { std::size_t{ 0 }, size / 2, size, want, want + 1 }) {
        const std::size_t cut = broadcastLinesSize(prefix, message, limit);
        check(want <= limit ? cut == want : cut > limit, "a limited count says the wrong thing");
    }
    std::string out(want + 1, '\xee'); // one byte more: nothing may be written there
    writeBroadcastLines(prefix, message, out.data());
    check(out.back() == '\xee', "wrote past the size computed");
    out.pop_back();
    check(!out.empty() && out.back() == '\n', "lines do not end with a newline");
    std::size_t lines = 0;
    for (std::string_view rest = out; !rest.empty();) {
        const auto nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        check(line.starts_with(prefix), "a line without the sender's prefix");
        checkSafe(line.substr(prefix.size()));
        rest.remove_prefix(nl + 1);
        ++lines;
    }
    std::size_t newlines = 0;
    for (char c : message)
        newlines += c == '\n' ? 1 : 0;
    check(lines == newlines + 1, "not one line per line of the message");
    return 0;
}
