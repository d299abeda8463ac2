#include "common/utf8.h"

#include <string>

#include "tests/catch.h"

using namespace pisock;

namespace {

// The validator's verdict when text is fed in two pieces split at every position.
bool validSplitAnywhere(const std::string &text)
{
    const bool whole = isValidUtf8(text);
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
        Utf8Validator v;
        const bool fed = v.feed(std::string_view(text).substr(0, cut)) &&
                         v.feed(std::string_view(text).substr(cut));
        CHECK((fed && v.complete()) == whole);
    }
    return whole;
}

} // namespace

TEST_CASE("ASCII, Chinese and the largest characters are valid UTF-8", "[utf8]")
{
    CHECK(validSplitAnywhere(""));
    CHECK(validSplitAnywhere("plain ASCII, longer than one 8-byte word"));
    CHECK(validSplitAnywhere("服务器收到：你好，世界"));
    CHECK(validSplitAnywhere("\xc2\x80\xdf\xbf")); // U+0080, U+07FF
    CHECK(validSplitAnywhere("\xe0\xa0\x80\xef\xbf\xbf")); // U+0800, U+FFFF
    CHECK(validSplitAnywhere("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf")); // U+10000, U+10FFFF
    CHECK(validSplitAnywhere("\xed\x9f\xbf\xee\x80\x80")); // U+D7FF, U+E000 around surrogates
    CHECK(validSplitAnywhere(std::string("NUL \0 is a character", 21)));
}

TEST_CASE("overlong forms, surrogates and code points past U+10FFFF are invalid", "[utf8]")
{
    CHECK_FALSE(validSplitAnywhere("\xc0\xaf")); // '/' in two bytes
    CHECK_FALSE(validSplitAnywhere("\xc1\xbf"));
    CHECK_FALSE(validSplitAnywhere("\xe0\x9f\xbf")); // U+07FF in three bytes
    CHECK_FALSE(validSplitAnywhere("\xf0\x8f\xbf\xbf")); // U+FFFF in four bytes
    CHECK_FALSE(validSplitAnywhere("\xed\xa0\x80")); // U+D800
    CHECK_FALSE(validSplitAnywhere("\xed\xbf\xbf")); // U+DFFF
    CHECK_FALSE(validSplitAnywhere("\xf4\x90\x80\x80")); // U+110000
    CHECK_FALSE(validSplitAnywhere("\xf5\x80\x80\x80"));
    CHECK_FALSE(validSplitAnywhere("\xff"));
}

TEST_CASE("stray continuation bytes and cut characters are invalid", "[utf8]")
{
    CHECK_FALSE(validSplitAnywhere("\x80"));
    CHECK_FALSE(validSplitAnywhere("abc\xbf"));
    CHECK_FALSE(validSplitAnywhere("\xe4\xbd")); // 你 without its last byte
    CHECK_FALSE(validSplitAnywhere("\xe4\xbd"
                                   "a"));
    CHECK_FALSE(validSplitAnywhere("\xf0\x90\x80"));
}

TEST_CASE("a validator keeps its verdict: complete, pending, then failed for good", "[utf8]")
{
    Utf8Validator v;
    CHECK(v.complete());
    CHECK(v.feed("\xe4"));
    CHECK_FALSE(v.complete());
    CHECK_FALSE(v.failed());
    CHECK(v.feed("\xbd\xa0"));
    CHECK(v.complete());
    CHECK_FALSE(v.feed("\xff"));
    CHECK(v.failed());
    CHECK_FALSE(v.feed("ok"));
    CHECK_FALSE(v.complete());
    v.reset();
    CHECK(v.complete());
    CHECK(v.feed("ok"));
}

TEST_CASE("an invalid byte after a run of ASCII is found", "[utf8]")
{
    // The fast path skips ASCII 8 bytes at a time: the bad byte sits at every offset of a word.
    for (std::size_t at = 0; at < 24; ++at) {
        std::string s(24, 'a');
        s[at] = '\x80';
        INFO(at);
        CHECK_FALSE(isValidUtf8(s));
    }
}
