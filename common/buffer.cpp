#include "buffer.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

#include "size_class_pool.h"
#include "units.h"

namespace pisock {

namespace {

// Size classes 4 KiB << 0 .. 4 KiB << 8 (1 MiB).
using Pool = SizeClassPool<Buffer::kMinCapacity, 9>;
constexpr std::size_t kLargest = Pool::kLargest;
thread_local Pool gPool = {};

MemoryBudget *budgetOf(const MemoryAccount *account) noexcept
{
    return account ? account->budget() : nullptr;
}

void freeBlock(char *block, std::size_t capacity, MemoryBudget *budget) noexcept
{
    ::operator delete(block);
    if (budget)
        budget->released(MemoryBudget::cost(capacity));
}

char *allocate(std::size_t capacity, MemoryAccount *account, Buffer::Growth growth) noexcept
{
    const std::size_t cost = MemoryBudget::cost(capacity);
    MemoryBudget *budget = budgetOf(account);
    const int c = Pool::classOf(capacity);
    const bool pooled = c >= 0 && gPool.has(static_cast<unsigned>(c)) && gPool.budget == budget;
    if (growth == Buffer::Growth::IfBudgetAllows && account && !account->allows(cost, !pooled)) {
        // Blocks of other sizes parked in the pool count too: give them back and ask again.
        if (pooled || gPool.bytes == 0 || gPool.budget != budget)
            return nullptr;
        Buffer::trimPool(true);
        if (!account->allows(cost, true))
            return nullptr;
    }
    char *block = nullptr;
    if (pooled) {
        block = static_cast<char *>(gPool.take(static_cast<unsigned>(c)));
    } else {
        // Uninitialised: every byte is written before it is read.
        block = static_cast<char *>(::operator new(capacity, std::nothrow));
        if (!block && gPool.bytes > 0) {
            Buffer::trimPool(true); // the heap is short: the pool's blocks first
            block = static_cast<char *>(::operator new(capacity, std::nothrow));
        }
        if (!block) {
            if (account)
                account->noteFailure();
            return nullptr;
        }
        if (budget)
            budget->acquired(cost);
    }
    if (account)
        account->add(cost);
    return block;
}

void deallocate(char *block, std::size_t capacity, MemoryAccount *account) noexcept
{
    MemoryBudget *budget = budgetOf(account);
    if (account)
        account->remove(MemoryBudget::cost(capacity));
    const int c = Pool::classOf(capacity);
    // Near the budget a block goes back to the heap at once, not to the pool.
    if (c >= 0 && (gPool.bytes == 0 || gPool.budget == budget) && !(budget && budget->pressure())) {
        gPool.budget = budget; // an empty pool takes the budget of what it is given
        if (gPool.put(block, static_cast<unsigned>(c)))
            return;
    }
    freeBlock(block, capacity, budget);
}

// The smallest size class that holds n bytes; past the largest class, an eighth more than the
// current capacity (or n if more), in 64 KiB steps: a 1 MiB mark is not a 2 MiB block.
std::size_t grownCapacity(std::size_t capacity, std::size_t n) noexcept
{
    std::size_t cap = Buffer::kMinCapacity;
    while (cap < n && cap < kLargest)
        cap <<= 1;
    if (cap >= n)
        return cap;
    constexpr std::size_t kStep = 64 * kKiB;
    const std::size_t want = std::max(n, capacity + capacity / 8);
    return want > static_cast<std::size_t>(-1) - kStep ? want : (want + kStep - 1) / kStep * kStep;
}

} // namespace

void Buffer::trimPool(bool all) noexcept
{
    gPool.trim(all);
}

void Buffer::forgetBudget(const MemoryBudget &budget) noexcept
{
    if (gPool.budget == &budget)
        gPool.budget = nullptr;
}

Buffer::Buffer(Buffer &&other) noexcept
    : storage_(std::exchange(other.storage_, nullptr)),
      capacity_(std::exchange(other.capacity_, 0)), head_(std::exchange(other.head_, 0)),
      tail_(std::exchange(other.tail_, 0)), maxSize_(other.maxSize_), account_(other.account_)
{
}

Buffer &Buffer::operator=(Buffer &&other) noexcept
{
    if (this != &other) {
        freeStorage();
        storage_ = std::exchange(other.storage_, nullptr);
        capacity_ = std::exchange(other.capacity_, 0);
        head_ = std::exchange(other.head_, 0);
        tail_ = std::exchange(other.tail_, 0);
        maxSize_ = other.maxSize_;
        account_ = other.account_;
    }
    return *this;
}

Buffer::~Buffer()
{
    freeStorage();
}

void Buffer::freeStorage() noexcept
{
    if (storage_)
        deallocate(storage_, capacity_, account_);
    storage_ = nullptr;
    capacity_ = head_ = tail_ = 0;
}

std::size_t Buffer::pooledBlocks() noexcept
{
    return gPool.blocks();
}

std::size_t Buffer::pooledBytes() noexcept
{
    return gPool.bytes;
}

std::span<char> Buffer::writable(std::size_t want, Growth growth) noexcept
{
    if (readable() >= maxSize_)
        return {};
    want = std::min(want, room());
    if (capacity_ - tail_ >= want && storage_)
        return { storage_ + tail_, capacity_ - tail_ };

    const std::size_t used = readable();
    if (capacity_ - used >= want && storage_) {
        // Enough room once the unread bytes move to the front: no allocation.
        std::memmove(storage_, storage_ + head_, used);
    } else {
        std::size_t cap = grownCapacity(capacity_, used + want);
        if (maxSize_ != kUnlimited && cap > maxSize_)
            cap = std::max(maxSize_, used + want);
        char *fresh = allocate(cap, account_, growth);
        if (!fresh)
            return {};
        if (used > 0)
            std::memcpy(fresh, storage_ + head_, used);
        freeStorage();
        storage_ = fresh;
        capacity_ = cap;
    }
    head_ = 0;
    tail_ = used;
    return { storage_ + tail_, capacity_ - tail_ };
}

void Buffer::commit(std::size_t n) noexcept
{
    tail_ += std::min(n, capacity_ - tail_);
}

void Buffer::consume(std::size_t n) noexcept
{
    head_ += std::min(n, readable());
    if (head_ == tail_)
        head_ = tail_ = 0; // Empty: next append starts at the front, no memmove.
}

bool Buffer::append(std::string_view s) noexcept
{
    return appendAll({ s });
}

bool Buffer::appendAll(std::initializer_list<std::string_view> parts) noexcept
{
    std::size_t total = 0;
    for (const auto part : parts)
        total += part.size();
    if (total > room())
        return false;
    if (total == 0)
        return true;
    const auto span = writable(total);
    if (span.size() < total)
        return false;
    char *p = span.data();
    for (const auto part : parts) {
        if (!part.empty())
            std::memcpy(p, part.data(), part.size());
        p += part.size();
    }
    commit(total);
    return true;
}

void Buffer::release() noexcept
{
    if (empty())
        freeStorage();
}

void Buffer::setAccount(MemoryAccount *account) noexcept
{
    if (account_)
        account_->remove(cost());
    account_ = account;
    if (account_)
        account_->add(cost());
}

void Buffer::swap(Buffer &other) noexcept
{
    if (account_ != other.account_) {
        if (account_)
            account_->remove(cost());
        if (other.account_)
            other.account_->remove(other.cost());
        if (account_)
            account_->add(other.cost());
        if (other.account_)
            other.account_->add(cost());
    }
    std::swap(storage_, other.storage_);
    std::swap(capacity_, other.capacity_);
    std::swap(head_, other.head_);
    std::swap(tail_, other.tail_);
}

} // namespace pisock
