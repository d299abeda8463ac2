#include "client/histogram.h"

#include <cstdint>

#include "tests/catch.h"

using pisock::Histogram;

TEST_CASE("an empty histogram reports zeros", "[histogram]")
{
    Histogram h;
    CHECK(h.count() == 0);
    CHECK(h.min() == 0);
    CHECK(h.max() == 0);
    CHECK(h.percentile(0.5) == 0);
}

TEST_CASE("small values are exact", "[histogram]")
{
    Histogram h;
    for (std::uint64_t v = 1; v <= 10; ++v)
        h.record(v);
    CHECK(h.count() == 10);
    CHECK(h.min() == 1);
    CHECK(h.max() == 10);
    CHECK(h.percentile(0.5) == 5);
    CHECK(h.percentile(0.9) == 9);
    CHECK(h.percentile(1.0) == 10);
}

TEST_CASE("percentiles of a uniform spread are within 1/16 of the truth", "[histogram]")
{
    Histogram h;
    for (std::uint64_t v = 1; v <= 100000; ++v)
        h.record(v * 1000); // 1 us .. 100 ms in ns
    for (double q : { 0.5, 0.9, 0.99, 0.999 }) {
        const double truth = q * 100000 * 1000;
        const auto got = static_cast<double>(h.percentile(q));
        INFO("q=" << q << " got " << got << " truth " << truth);
        CHECK(got >= truth);
        CHECK(got <= truth * (1 + 1.0 / 16));
    }
    CHECK(h.max() == 100000ull * 1000);
    CHECK(h.min() == 1000);
}

TEST_CASE("one slow outlier shows in max and p99.9 only", "[histogram]")
{
    Histogram h;
    for (int i = 0; i < 9999; ++i)
        h.record(50000);
    h.record(2000000000);
    CHECK(h.percentile(0.99) <= 50000 * 17 / 16);
    CHECK(h.percentile(0.9999) <= 50000 * 17 / 16);
    CHECK(h.percentile(1.0) == 2000000000);
    CHECK(h.max() == 2000000000);
}

TEST_CASE("huge values are clamped into the last bucket but max stays exact", "[histogram]")
{
    Histogram h;
    h.record(UINT64_MAX / 2);
    CHECK(h.max() == UINT64_MAX / 2);
    CHECK(h.percentile(0.5) == UINT64_MAX / 2);
}

TEST_CASE("merging adds counts", "[histogram]")
{
    Histogram a, b;
    a.record(10);
    b.record(1000);
    b.record(3);
    a.merge(b);
    CHECK(a.count() == 3);
    CHECK(a.min() == 3);
    CHECK(a.max() == 1000);
}
