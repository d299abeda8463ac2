#include "common/safe_text.h"

#include <string>

#include "tests/catch.h"

using namespace pisock;

namespace {

std::string broadcast(std::string_view prefix, std::string_view message)
{
    std::string out(broadcastLinesSize(prefix, message), '?');
    writeBroadcastLines(prefix, message, out.data());
    return out;
}

} // namespace

TEST_CASE("UTF-8 sequences decode; malformed ones are refused", "[safe_text]")
{
    CHECK(decodeUtf8("a").code == U'a');
    CHECK(decodeUtf8("\xc3\xa9").code == 0xe9);
    CHECK(decodeUtf8("\xe4\xb8\xad").code == 0x4e2d); // 中
    CHECK(decodeUtf8("\xf0\x9f\x98\x80").code == 0x1f600);
    CHECK(decodeUtf8("\xe4\xb8\xad").length == 3);
    CHECK(decodeUtf8("").length == 0);
    CHECK(decodeUtf8("\x85").length == 0); // a stray continuation byte
    CHECK(decodeUtf8("\xc0\xaf").length == 0); // overlong '/'
    CHECK(decodeUtf8("\xe0\x80\xaf").length == 0); // overlong
    CHECK(decodeUtf8("\xed\xa0\x80").length == 0); // surrogate U+D800
    CHECK(decodeUtf8("\xf4\x90\x80\x80").length == 0); // past U+10FFFF
    CHECK(decodeUtf8("\xe4\xb8").length == 0); // truncated
    CHECK(decodeUtf8("\xe4\x41\xad").length == 0);
    CHECK(decodeUtf8("\xff").length == 0);
}

TEST_CASE("controls, C1, bidi controls and invalid UTF-8 are escaped; UTF-8 text passes",
          "[safe_text]")
{
    CHECK(escapeText("plain text") == "plain text");
    CHECK(escapeText("a\nb\r") == "a\\x0ab\\x0d");
    CHECK(escapeText(std::string("nul\0here", 8)) == "nul\\x00here");
    CHECK(escapeText("\x1b[31mred") == "\\x1b[31mred");
    CHECK(escapeText("del\x7f bs\x08") == "del\\x7f bs\\x08");
    CHECK(escapeText("tab\there") == "tab\there");
    CHECK(escapeText("\x0b\x0c\x1c\x1d\x1e") == "\\x0b\\x0c\\x1c\\x1d\\x1e");
    // Chinese, accents and emoji pass untouched.
    CHECK(escapeText("你好，世界 café 😀") == "你好，世界 café 😀");
    // C1 as raw bytes (invalid UTF-8) and as UTF-8 characters.
    CHECK(escapeText("a\x9b"
                     "2J b\x85") == "a\\x9b2J b\\x85");
    CHECK(escapeText("a\xc2\x9b"
                     "2J b\xc2\x85") == "a\\u009b2J b\\u0085");
    // Line and paragraph separators, bidi overrides, embeddings, isolates and marks.
    CHECK(escapeText("x\xe2\x80\xa8y\xe2\x80\xa9z") == "x\\u2028y\\u2029z");
    CHECK(escapeText("\xe2\x80\xaegnp.exe") == "\\u202egnp.exe");
    CHECK(escapeText("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad") ==
          "\\u202a\\u202b\\u202c\\u202d");
    CHECK(escapeText("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9") ==
          "\\u2066\\u2067\\u2068\\u2069");
    CHECK(escapeText("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c") == "\\u200e\\u200f\\u061c");
    // Invalid UTF-8: each byte that is not part of a valid sequence, then decoding goes on.
    CHECK(escapeText("\xff\xfe") == "\\xff\\xfe");
    CHECK(escapeText("\xe4\xb8"
                     "A") == "\\xe4\\xb8A");
    CHECK(escapeText("\xc0\xaf") == "\\xc0\\xaf");
    CHECK(escapeText("\xed\xa0\x80") == "\\xed\\xa0\\x80");
    // GBK (a Windows client's Chinese) is not UTF-8: shown as bytes.
    CHECK(escapeText("\xc4\xe3\xba\xc3") == "\\xc4\\xe3\\xba\\xc3");
    // A backslash stays as typed.
    CHECK(escapeText("C:\\temp") == "C:\\temp");
}

TEST_CASE("a broadcast message is one prefixed line; its \\n and \\r\\n start prefixed lines",
          "[safe_text]")
{
    CHECK(broadcast("a: ", "hi") == "a: hi\n");
    CHECK(broadcast("a: ", "") == "a: \n");
    CHECK(broadcast("a: ", "one\ntwo") == "a: one\na: two\n");
    CHECK(broadcast("a: ", "one\r\ntwo\r\n") == "a: one\na: two\na: \n");
    CHECK(broadcast("", "x") == "x\n");
}

TEST_CASE("no broadcast line can carry another line break or steer a terminal", "[safe_text]")
{
    const std::string p = "10.0.0.5:4000: ";
    CHECK(broadcast(p, "hi\r10.1.2.3:5555: forged") == p + "hi\\x0d10.1.2.3:5555: forged\n");
    CHECK(broadcast(p, "a\x0b"
                       "b\x0c"
                       "c") == p + "a\\x0bb\\x0cc\n");
    CHECK(broadcast(p, "a\xc2\x85"
                       "b") == p + "a\\u0085b\n");
    CHECK(broadcast(p, "a\xe2\x80\xa8"
                       "b\xe2\x80\xa9") == p + "a\\u2028b\\u2029\n");
    CHECK(broadcast(p, "\x1b[2K\rforged") == p + "\\x1b[2K\\x0dforged\n");
    CHECK(broadcast(p, "abc\b\b\b\bxyz") == p + "abc\\x08\\x08\\x08\\x08xyz\n");
    CHECK(broadcast(p, "lone \x85 byte") == p + "lone \\x85 byte\n");
    CHECK(broadcast(p, "你好") == p + "你好\n");
    CHECK(broadcast(p, "tab\tok") == p + "tab\tok\n");
}

TEST_CASE("the size computed is the size written", "[safe_text]")
{
    for (const std::string m : { "", "a", "\n", "\r\n", "a\x1b\n\xc2\x85\xff\r", "你\n好" }) {
        const std::string out = broadcast("p: ", m);
        CHECK(out.find('?') == std::string::npos);
        CHECK(out.size() == broadcastLinesSize("p: ", m));
    }
}

TEST_CASE("with a limit, counting stops past it and says so; under it, the size is exact",
          "[safe_text]")
{
    const std::string prefix = "10.0.0.1:5555: ";
    const std::string newlines(65536, '\n'); // 65,537 lines: about 1 MiB with their prefixes
    const std::size_t full = broadcastLinesSize(prefix, newlines);
    CHECK(full == 65537 * (prefix.size() + 1));
    const std::size_t limit = 65536 + prefix.size() + 1;
    CHECK(broadcastLinesSize(prefix, newlines, limit) > limit);
    // Escaping makes it too long: 40,000 bytes that each become \xNN.
    const std::string controls(40000, '\x01');
    CHECK(broadcastLinesSize(prefix, controls) == prefix.size() + 4 * 40000 + 1);
    CHECK(broadcastLinesSize(prefix, controls, limit) > limit);
    CHECK(broadcastLinesSize(prefix, "a\nb", limit) == broadcastLinesSize(prefix, "a\nb"));
    CHECK(broadcastLinesSize(prefix, "a\nb", 2 * (prefix.size() + 2)) ==
          2 * (prefix.size() + 2)); // exactly at the limit: not past it
}
