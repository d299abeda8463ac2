#pragma once

#include <array>
#include <cstdint>

namespace pisock {

// Latency histogram with log-linear buckets: 16 sub-buckets per power of two, so any value is
// reported within 1/16 (6.25 %) of itself, from 1 ns to 2^40 ns (18 minutes), in a fixed
// 6 KiB with no allocation. Exact count, min and max.
class Histogram
{
public:
    void record(std::uint64_t value) noexcept;
    void merge(const Histogram &other) noexcept;
    void reset() noexcept { *this = Histogram(); }

    [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
    [[nodiscard]] std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
    [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
    // The value at or below which `q` (0..1) of the recorded values lie; the upper edge of
    // its bucket, capped at max().
    [[nodiscard]] std::uint64_t percentile(double q) const noexcept;

    static constexpr unsigned kSubBits = 4;
    static constexpr unsigned kMaxExp = 40;

private:
    static constexpr std::size_t kBuckets = (kMaxExp + 1) << kSubBits;
    static std::size_t bucketOf(std::uint64_t value) noexcept;
    static std::uint64_t upperEdge(std::size_t bucket) noexcept;

    std::array<std::uint64_t, kBuckets> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t min_ = UINT64_MAX;
    std::uint64_t max_ = 0;
};

} // namespace pisock
