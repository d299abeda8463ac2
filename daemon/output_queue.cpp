#include "output_queue.h"

#include <algorithm>
#include <new>

namespace pisock {

namespace {

constexpr std::size_t kFirstRing = 16;
constexpr std::size_t kKeptRing = 256; // a ring larger than this is freed once empty

} // namespace

OutputQueue::~OutputQueue()
{
    clear();
    freeRing();
}

void OutputQueue::freeRing() noexcept
{
    if (!ring_)
        return;
    const std::size_t cost = ringCost();
    if (account_) {
        account_->remove(cost);
        if (account_->budget())
            account_->budget()->released(cost);
    }
    ::operator delete(ring_);
    ring_ = nullptr;
    cap_ = 0;
    head_ = 0;
}

std::size_t OutputQueue::costToShare(const Chunk &chunk) const noexcept
{
    const std::size_t entries = count_ + 2;
    const std::size_t grow =
            entries <= cap_ ? 0
                            : MemoryBudget::cost(std::max(cap_ * 2, kFirstRing) * sizeof(Entry));
    return chunk.cost() + grow;
}

std::size_t OutputQueue::lengthOf(Entry e) noexcept
{
    return isRun(e) ? static_cast<std::size_t>(e >> 1) : chunkOf(e)->size();
}

bool OutputQueue::reserve(std::size_t entries) noexcept
{
    if (count_ + entries <= cap_)
        return true;
    std::size_t cap = std::max(cap_ * 2, kFirstRing);
    while (cap < count_ + entries)
        cap *= 2;
    auto *ring = static_cast<Entry *>(::operator new(cap * sizeof(Entry), std::nothrow));
    if (!ring) {
        if (account_)
            account_->noteFailure();
        return false;
    }
    const std::size_t cost = MemoryBudget::cost(cap * sizeof(Entry));
    if (account_) {
        account_->add(cost);
        if (account_->budget())
            account_->budget()->acquired(cost);
    }
    for (std::size_t i = 0; i < count_; ++i)
        ring[i] = at(i);
    freeRing();
    ring_ = ring;
    cap_ = cap;
    head_ = 0;
    return true;
}

void OutputQueue::push(Entry e) noexcept
{
    ring_[(head_ + count_) & (cap_ - 1)] = e;
    ++count_;
}

void OutputQueue::pop() noexcept
{
    const Entry e = at(0);
    if (!isRun(e)) {
        --chunks_;
        const std::size_t cost = chunkOf(e)->cost();
        chunkCost_ -= cost;
        if (account_)
            account_->remove(cost);
        chunkOf(e)->unref();
    }
    head_ = (head_ + 1) & (cap_ - 1);
    --count_;
    headSent_ = 0;
}

bool OutputQueue::share(Chunk &chunk) noexcept
{
    if (chunk.size() == 0)
        return true;
    // Own bytes written since the last chunk go before this one.
    const std::size_t before = own_.readable() - inRuns_;
    if (!reserve(before > 0 ? 2 : 1))
        return false;
    if (before > 0) {
        push((static_cast<Entry>(before) << 1) | 1);
        inRuns_ += before;
    }
    chunk.ref();
    push(reinterpret_cast<Entry>(&chunk));
    ++chunks_;
    shared_ += chunk.size();
    chunkCost_ += chunk.cost();
    if (account_)
        account_->add(chunk.cost());
    return true;
}

std::size_t OutputQueue::gather(iovec *iov, std::size_t max, std::size_t &bytes) const noexcept
{
    std::size_t n = 0;
    bytes = 0;
    // Own bytes sit in own_ in the order they were written: runs first, then the rest.
    const char *own = own_.data();
    for (std::size_t i = 0; i < count_ && n < max; ++i) {
        const Entry e = at(i);
        const std::size_t skip = i == 0 ? headSent_ : 0;
        const std::size_t len = lengthOf(e) - skip;
        if (isRun(e)) {
            iov[n].iov_base = const_cast<char *>(own);
            own += len;
        } else {
            iov[n].iov_base = const_cast<char *>(chunkOf(e)->data() + skip);
        }
        iov[n].iov_len = len;
        bytes += len;
        ++n;
    }
    const std::size_t last = own_.readable() - inRuns_;
    if (n < max && last > 0) {
        iov[n].iov_base = const_cast<char *>(own);
        iov[n].iov_len = last;
        bytes += last;
        ++n;
    }
    return n;
}

void OutputQueue::consume(std::size_t n) noexcept
{
    while (n > 0 && count_ > 0) {
        const Entry e = at(0);
        const std::size_t take = std::min(n, lengthOf(e) - headSent_);
        if (isRun(e)) {
            own_.consume(take); // sent bytes of a run leave own_ at once
            inRuns_ -= take;
        } else {
            shared_ -= take;
        }
        headSent_ += take;
        n -= take;
        if (headSent_ < lengthOf(e))
            return;
        pop();
    }
    own_.consume(n);
}

void OutputQueue::clear() noexcept
{
    while (count_ > 0)
        pop();
    own_.clear();
    inRuns_ = 0;
    shared_ = 0;
}

void OutputQueue::release() noexcept
{
    own_.release();
    if (count_ == 0 && cap_ > kKeptRing)
        freeRing();
}

} // namespace pisock
