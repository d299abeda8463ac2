#include "framing_hint.h"

namespace pisock {

void FramingHint::waiting(std::uint64_t id) noexcept
{
    if (size_ == kCapacity)
        return;
    at(size_) = { id, 0 };
    ++size_;
}

void FramingHint::tick(std::uint64_t nowMs) noexcept
{
    // Stamped at the tick after its bytes, never before them: the wait is at least kDueMs.
    for (; stamped_ < size_; ++stamped_)
        at(stamped_).seenMs = nowMs;
}

std::optional<std::uint64_t> FramingHint::due(std::uint64_t nowMs) noexcept
{
    // Stamps only grow, so the oldest is at the head.
    if (stamped_ == 0 || nowMs - at(0).seenMs < kDueMs)
        return std::nullopt;
    const std::uint64_t id = at(0).id;
    head_ = (head_ + 1) % kCapacity;
    --size_;
    --stamped_;
    return id;
}

bool FramingHint::mayLog(std::uint64_t nowMs) noexcept
{
    return log_.allow(nowMs);
}

} // namespace pisock
