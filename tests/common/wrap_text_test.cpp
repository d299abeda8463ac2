#include "common/wrap_text.h"

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
