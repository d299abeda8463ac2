#include "common/wrap_text.h"

#include <clocale>

#include "tests/catch.h"

using namespace pisock;

TEST_CASE("text is broken at spaces, later lines indented", "[wrap]")
{
    CHECK(wrapText("", 10, 2) == "");
    CHECK(wrapText("short", 10, 2) == "short");
    CHECK(wrapText("one two three four", 9, 2) == "one two\n  three\n  four");
    CHECK(wrapText("exactly10 x", 9, 0) == "exactly10\nx"); // a longer word: a line of its own
    CHECK(wrapText("a\nb c", 80, 4) == "a\n    b c");
    CHECK(wrapText("before default \"server rec: \"", 20, 0) ==
          "before default\n\"server rec: \""); // not within quotes...
    CHECK(wrapText("close it (default 5m)", 12, 0) == "close it\n(default 5m)"); // or parentheses
}

namespace {

// The test's own locale: UTF-8, so that a Chinese character is one wide character. C.UTF-8
// is always there in Debian's libc.
struct Utf8Locale {
    Utf8Locale() { ok = std::setlocale(LC_CTYPE, "C.UTF-8") != nullptr; }
    ~Utf8Locale() { std::setlocale(LC_CTYPE, "C"); }
    bool ok = false;
};

} // namespace

TEST_CASE("columns are counted as a terminal shows them: a Chinese character takes two", "[wrap]")
{
    Utf8Locale utf8;
    REQUIRE(utf8.ok);
    CHECK(displayWidth("") == 0);
    CHECK(displayWidth("IPv4") == 4);
    CHECK(displayWidth("只用 IPv4 地址") == 14);
    CHECK(displayWidth("\xff") == 1); // not a character: one column
}

TEST_CASE("Chinese text breaks between characters, never before closing punctuation", "[wrap]")
{
    Utf8Locale utf8;
    REQUIRE(utf8.ok);
    // 10 columns: five characters a line.
    CHECK(wrapText("一二三四五六七八", 10, 0) == "一二三四五\n六七八");
    CHECK(wrapText("一二三四五六七八", 10, 2) == "一二三四五\n  六七八");
    // "，" stays with the character before it, "（" with the one after it.
    CHECK(wrapText("一二三四五，六七", 10, 0) == "一二三四\n五，六七");
    CHECK(wrapText("一二三四（五六）", 10, 0) == "一二三四\n（五六）");
    // Mixed with words: a space between them is kept, none is added.
    CHECK(wrapText("只用 IPv4 地址", 9, 0) == "只用 IPv4\n地址");
    CHECK(wrapText("发送 --message 消息", 80, 0) == "发送 --message 消息");
}
