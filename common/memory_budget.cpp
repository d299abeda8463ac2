#include "memory_budget.h"

#include <algorithm>

#include "buffer.h"

namespace pisock {

MemoryBudget::~MemoryBudget()
{
    Buffer::forgetBudget(*this);
}

void MemoryBudget::setLimit(std::size_t limit) noexcept
{
    limit_ = limit;
    soft_ = limit == kUnlimited ? kUnlimited : limit - limit / 4;
}

std::size_t MemoryBudget::share() const noexcept
{
    if (limit_ == kUnlimited)
        return kUnlimited;
    return std::max(kMinShare, (limit_ - soft_) / std::max<std::size_t>(1, holders_));
}

bool MemoryBudget::allows(std::size_t held, std::size_t cost, bool fromHeap) const noexcept
{
    const std::size_t more = fromHeap ? cost : 0;
    if (more > limit_ - std::min(used_, limit_))
        return false; // the limit itself: never passed by a block from the heap
    if (used_ + more < soft_)
        return true;
    return held + cost <= share(); // under pressure: only the small holders grow
}

void MemoryBudget::acquired(std::size_t cost) noexcept
{
    used_ += cost;
    peak_ = std::max(peak_, used_);
}

} // namespace pisock
