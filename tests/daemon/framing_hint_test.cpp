#include "daemon/framing_hint.h"

#include <cstdint>

#include "tests/catch.h"

using namespace pisock;

TEST_CASE("a candidate is due a second after the first tick that saw it", "[hint]")
{
    FramingHint hint;
    hint.tick(10000);
    hint.waiting(7);
    CHECK(hint.size() == 1);
    CHECK_FALSE(hint.due(90000)); // not stamped yet: no tick since its bytes
    hint.tick(10250);
    CHECK_FALSE(hint.due(10250));
    CHECK_FALSE(hint.due(10250 + FramingHint::kDueMs - 1));
    CHECK(hint.due(10250 + FramingHint::kDueMs) == 7u);
    CHECK(hint.size() == 0);
    CHECK_FALSE(hint.due(99999)); // taken off once due
}

TEST_CASE("candidates come due in the order they were seen", "[hint]")
{
    FramingHint hint;
    hint.waiting(1);
    hint.waiting(2);
    hint.tick(1000);
    hint.waiting(3);
    hint.tick(1250);
    const std::uint64_t at = 1000 + FramingHint::kDueMs;
    CHECK(hint.due(at) == 1u);
    CHECK(hint.due(at) == 2u);
    CHECK_FALSE(hint.due(at)); // 3 was seen a tick later
    CHECK(hint.due(at + 250) == 3u);
}

TEST_CASE("a full ring drops new candidates and takes them again once there is room", "[hint]")
{
    FramingHint hint;
    for (std::uint64_t id = 1; id <= FramingHint::kCapacity + 10; ++id)
        hint.waiting(id);
    CHECK(hint.size() == FramingHint::kCapacity);
    hint.tick(0);
    for (std::uint64_t id = 1; id <= FramingHint::kCapacity; ++id)
        CHECK(hint.due(FramingHint::kDueMs) == id);
    CHECK(hint.size() == 0);
    hint.waiting(1000);
    hint.tick(5000);
    CHECK(hint.due(5000 + FramingHint::kDueMs) == 1000u);
}

TEST_CASE("at most one hint is logged a minute", "[hint]")
{
    FramingHint hint;
    CHECK(hint.mayLog(5000));
    CHECK_FALSE(hint.mayLog(5001));
    CHECK_FALSE(hint.mayLog(5000 + FramingHint::kQuietMs - 1));
    CHECK(hint.mayLog(5000 + FramingHint::kQuietMs));
    CHECK_FALSE(hint.mayLog(5000 + FramingHint::kQuietMs + 1));
}
