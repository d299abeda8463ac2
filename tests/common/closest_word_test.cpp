#include "common/closest_word.h"

#include "tests/catch.h"

using namespace pisock;

TEST_CASE("edit distance counts insertions, deletions, substitutions and swaps", "[closest]")
{
    CHECK(editDistance("", "") == 0);
    CHECK(editDistance("mode", "mode") == 0);
    CHECK(editDistance("mdoe", "mode") == 1); // a swap
    CHECK(editDistance("mod", "mode") == 1);
    CHECK(editDistance("modes", "mode") == 1);
    CHECK(editDistance("mide", "mode") == 1);
    CHECK(editDistance("", "abc") == 3);
    CHECK(editDistance("port", "mode") == 3);
}

TEST_CASE("the nearest known word, if near enough", "[closest]")
{
    const std::vector<std::string> names = { "mode",         "framing", "listen",
                                             "idle-timeout", "timeout", "max-connections" };
    CHECK(closestWord("mdoe", names) == "mode");
    CHECK(closestWord("lsiten", names) == "listen");
    CHECK(closestWord("max-conections", names) == "max-connections");
    CHECK(closestWord("timout", names) == "timeout");
    CHECK(closestWord("idle-timout", names) == "idle-timeout");
    CHECK_FALSE(closestWord("mdeo", names).has_value()); // two edits in four letters
    CHECK_FALSE(closestWord("xyz", names).has_value());
    CHECK_FALSE(closestWord("", names).has_value());
}

TEST_CASE("the option meant, however the unknown one was written", "[closest]")
{
    const std::vector<std::string> names = { "mode", "listen", "max-message" };
    CHECK(meantOption("--mdoe", names) == "--mode");
    CHECK(meantOption("--mdoe=echo", names) == "--mode");
    CHECK(meantOption("-mdoe", names) == "--mode");
    CHECK(meantOption("--max-mesage", names) == "--max-message");
    CHECK_FALSE(meantOption("--port", names).has_value());
    CHECK_FALSE(meantOption("-x", names).has_value());
}
