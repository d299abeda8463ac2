#include "buffer.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace pisock {

namespace {

constexpr std::size_t kMinCapacity = 4096;

} // namespace

std::span<char> Buffer::writable(std::size_t want)
{
    if (readable() >= maxSize_)
        return {};
    want = std::min(want, room());
    if (capacity_ - tail_ >= want)
        return { storage_.get() + tail_, capacity_ - tail_ };

    const std::size_t used = readable();
    if (capacity_ - used >= want && storage_) {
        // Enough room once the unread bytes move to the front: no allocation.
        std::memmove(storage_.get(), storage_.get() + head_, used);
    } else {
        std::size_t cap = std::max({ kMinCapacity, capacity_ * 2, used + want });
        if (maxSize_ != kUnlimited)
            cap = std::min(cap, std::max(maxSize_, used + want));
        auto fresh = std::make_unique_for_overwrite<char[]>(cap);
        if (used > 0)
            std::memcpy(fresh.get(), storage_.get() + head_, used);
        storage_ = std::move(fresh);
        capacity_ = cap;
    }
    head_ = 0;
    tail_ = used;
    return { storage_.get() + tail_, capacity_ - tail_ };
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

bool Buffer::append(std::string_view s)
{
    if (s.size() > room())
        return false;
    if (s.empty())
        return true;
    auto span = writable(s.size());
    std::memcpy(span.data(), s.data(), s.size());
    commit(s.size());
    return true;
}

void Buffer::release() noexcept
{
    if (!empty())
        return;
    storage_.reset();
    capacity_ = head_ = tail_ = 0;
}

void Buffer::swap(Buffer &other) noexcept
{
    std::swap(storage_, other.storage_);
    std::swap(capacity_, other.capacity_);
    std::swap(head_, other.head_);
    std::swap(tail_, other.tail_);
}

} // namespace pisock
