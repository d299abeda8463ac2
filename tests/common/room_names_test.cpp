#include "common/room_names.h"

#include <string>

#include "tests/catch.h"

using namespace pisock;

TEST_CASE("a name command is name: and the name, spaces around it ignored", "[names]")
{
    CHECK(nameCommand("name: kitchen") == "kitchen");
    CHECK(nameCommand("name:kitchen") == "kitchen");
    CHECK(nameCommand("name:   kitchen  ") == "kitchen");
    CHECK(nameCommand("name:") == "");
    CHECK_FALSE(nameCommand("Name: kitchen"));
    CHECK_FALSE(nameCommand("my name: kitchen"));
    CHECK_FALSE(nameCommand("hello"));
}

TEST_CASE("names are 1 to 32 letters, digits, dashes, underscores and dots", "[names]")
{
    for (const char *good : { "kitchen", "a", "Sensor-2", "living_room", "pi.garage", "x1" })
        CHECK(nameProblem(good).empty());
    CHECK(nameProblem(std::string(32, 'n')).empty());
    const std::string_view invalid =
            "error: invalid name (1 to 32 letters, digits, '-', '_' or '.')\n";
    for (const char *bad : { "", "two words", "kitchen:", "caf\xc3\xa9", "a/b", "tab\there" })
        CHECK(nameProblem(bad) == invalid);
    CHECK(nameProblem(std::string(33, 'n')) == invalid);
}

TEST_CASE("a name that looks like an address is refused", "[names]")
{
    const std::string_view addressLike = "error: invalid name (it looks like an address)\n";
    for (const char *bad : { "127.0.0.1", "192.168.1.20", "8888", "1.2", "unix", "UNIX" })
        CHECK(nameProblem(bad) == addressLike);
    CHECK(nameProblem("unix2").empty());
    CHECK(nameProblem("10.0.0.1a").empty());
}

TEST_CASE("names are unique whatever their case", "[names]")
{
    CHECK(nameKey("Kitchen") == "kitchen");
    CHECK(nameKey("kitchen-2.A_b") == "kitchen-2.a_b");
}
