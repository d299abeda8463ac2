#include "histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace pisock {

std::size_t Histogram::bucketOf(std::uint64_t value) noexcept
{
    // Values below 2^kSubBits have a bucket each; above, the top kSubBits+1 bits pick it.
    if (value < (1u << kSubBits))
        return static_cast<std::size_t>(value);
    const unsigned exp = static_cast<unsigned>(std::bit_width(value)) - 1; // >= kSubBits
    if (exp > kMaxExp)
        return kBuckets - 1;
    const std::uint64_t sub = (value >> (exp - kSubBits)) & ((1u << kSubBits) - 1);
    return static_cast<std::size_t>(((exp - kSubBits + 1) << kSubBits) + sub);
}

std::uint64_t Histogram::upperEdge(std::size_t bucket) noexcept
{
    if (bucket < (1u << kSubBits))
        return bucket;
    const std::size_t exp = (bucket >> kSubBits) + kSubBits - 1;
    const std::uint64_t sub = bucket & ((1u << kSubBits) - 1);
    const std::uint64_t base = (std::uint64_t(1) << exp) | (sub << (exp - kSubBits));
    return base + (std::uint64_t(1) << (exp - kSubBits)) - 1;
}

void Histogram::record(std::uint64_t value) noexcept
{
    ++counts_[bucketOf(value)];
    ++count_;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
}

void Histogram::merge(const Histogram &other) noexcept
{
    for (std::size_t i = 0; i < kBuckets; ++i)
        counts_[i] += other.counts_[i];
    count_ += other.count_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
}

std::uint64_t Histogram::percentile(double q) const noexcept
{
    if (count_ == 0)
        return 0;
    q = std::clamp(q, 0.0, 1.0);
    // The rank of the value asked for, 1-based: p50 of 1..100 is the 50th.
    const auto rank = std::max<std::uint64_t>(
            1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        seen += counts_[i];
        if (seen >= rank)
            return std::clamp(upperEdge(i), min(), max_);
    }
    return max_;
}

} // namespace pisock
