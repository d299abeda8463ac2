#include "common/duration.h"

#include "tests/catch.h"

using namespace pisock;
using std::chrono::milliseconds;

TEST_CASE("plain numbers are seconds, whole or with a fraction", "[duration]")
{
    CHECK(parseDuration("0") == milliseconds(0));
    CHECK(parseDuration("5") == milliseconds(5000));
    CHECK(parseDuration("300") == milliseconds(300'000));
    CHECK(parseDuration("0.5") == milliseconds(500));
    CHECK(parseDuration("1.25") == milliseconds(1250));
}

TEST_CASE("units: ms, s, m, min, h", "[duration]")
{
    CHECK(parseDuration("250ms") == milliseconds(250));
    CHECK(parseDuration("2s") == milliseconds(2000));
    CHECK(parseDuration("1.5s") == milliseconds(1500));
    CHECK(parseDuration("5m") == milliseconds(300'000));
    CHECK(parseDuration("5min") == milliseconds(300'000));
    CHECK(parseDuration("1.5m") == milliseconds(90'000));
    CHECK(parseDuration("1h") == milliseconds(3'600'000));
}

TEST_CASE("a fraction of a millisecond rounds up", "[duration]")
{
    CHECK(parseDuration("0.0001") == milliseconds(1));
    CHECK(parseDuration("0.5ms") == milliseconds(1));
}

TEST_CASE("anything else is not a duration", "[duration]")
{
    for (const char *bad : { "", "s", "ms", "-1", "+1", "1 s", " 1", "1S", "1sec", "1d", "5mm",
                             "1e3", "nan", "inf", "1m30s", "0x10", "abc" })
        CHECK_FALSE(parseDuration(bad).has_value());
}

TEST_CASE("up to a year", "[duration]")
{
    CHECK(parseDuration("8760h") == kMaxDuration);
    CHECK_FALSE(parseDuration("8760.01h").has_value());
    CHECK_FALSE(parseDuration("99999999999999999999").has_value());
}
