#include "buffer.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

#include "units.h"

namespace pisock {

namespace {

// Size classes 4 KiB << 0 .. 4 KiB << 8 (1 MiB); each class keeps at most kPoolBytes of free
// blocks, so the pool never holds more than 9 * kPoolBytes.
constexpr unsigned kClasses = 9;
constexpr std::size_t kPoolBytes = 512 * kKiB;
constexpr std::size_t kMaxSlots = kPoolBytes / Buffer::kMinCapacity;

// Plain data, constant-initialised: no constructor runs, and blocks left here at exit are
// still reachable (LeakSanitizer does not count them).
struct Pool {
    char *slots[kClasses][kMaxSlots];
    std::size_t used[kClasses];
};
thread_local Pool gPool = {};

int classOf(std::size_t capacity) noexcept
{
    for (unsigned c = 0; c < kClasses; ++c)
        if (capacity == (Buffer::kMinCapacity << c))
            return static_cast<int>(c);
    return -1;
}

std::size_t slotsFor(unsigned c) noexcept
{
    return std::max<std::size_t>(1, kPoolBytes / (Buffer::kMinCapacity << c));
}

char *allocate(std::size_t capacity)
{
    const int c = classOf(capacity);
    if (c >= 0 && gPool.used[c] > 0)
        return gPool.slots[c][--gPool.used[c]];
    return new char[capacity]; // uninitialised: every byte is written before it is read
}

void deallocate(char *block, std::size_t capacity) noexcept
{
    const int c = classOf(capacity);
    if (c >= 0 && gPool.used[c] < slotsFor(static_cast<unsigned>(c))) {
        gPool.slots[c][gPool.used[c]++] = block;
        return;
    }
    delete[] block;
}

// The smallest size class that holds n bytes; n itself past the largest class.
std::size_t roundUp(std::size_t n) noexcept
{
    std::size_t cap = Buffer::kMinCapacity;
    while (cap < n && cap < (Buffer::kMinCapacity << (kClasses - 1)))
        cap <<= 1;
    return cap < n ? n : cap;
}

} // namespace

Buffer::Buffer(Buffer &&other) noexcept
    : storage_(std::exchange(other.storage_, nullptr)),
      capacity_(std::exchange(other.capacity_, 0)), head_(std::exchange(other.head_, 0)),
      tail_(std::exchange(other.tail_, 0)), maxSize_(other.maxSize_)
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
        deallocate(storage_, capacity_);
    storage_ = nullptr;
    capacity_ = head_ = tail_ = 0;
}

std::size_t Buffer::pooledBlocks() noexcept
{
    std::size_t n = 0;
    for (const std::size_t used : gPool.used)
        n += used;
    return n;
}

std::size_t Buffer::pooledBytes() noexcept
{
    std::size_t n = 0;
    for (unsigned c = 0; c < kClasses; ++c)
        n += gPool.used[c] * (kMinCapacity << c);
    return n;
}

std::span<char> Buffer::writable(std::size_t want)
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
        std::size_t cap = roundUp(std::max(capacity_ * 2, used + want));
        if (maxSize_ != kUnlimited && cap > maxSize_)
            cap = std::max(maxSize_, used + want);
        char *fresh = allocate(cap);
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

bool Buffer::appendAll(std::initializer_list<std::string_view> parts) noexcept
{
    std::size_t total = 0;
    for (const auto part : parts)
        total += part.size();
    if (total > room())
        return false;
    if (total == 0)
        return true;
    try {
        char *p = writable(total).data();
        for (const auto part : parts) {
            if (!part.empty())
                std::memcpy(p, part.data(), part.size());
            p += part.size();
        }
    } catch (const std::bad_alloc &) {
        return false;
    }
    commit(total);
    return true;
}

void Buffer::release() noexcept
{
    if (empty())
        freeStorage();
}

void Buffer::swap(Buffer &other) noexcept
{
    std::swap(storage_, other.storage_);
    std::swap(capacity_, other.capacity_);
    std::swap(head_, other.head_);
    std::swap(tail_, other.tail_);
}

} // namespace pisock
