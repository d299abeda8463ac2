#pragma once

#include <cstddef>
#include <initializer_list>
#include <span>
#include <string_view>

#include "memory_budget.h"

namespace pisock {

// Owns a byte queue with a hard size cap: bytes are appended at the tail and consumed at the
// head. Storage is allocated on first use and can be released when empty, so an idle
// connection costs no buffer memory. Storage comes in power-of-two blocks from 4 KiB to
// 1 MiB, recycled through a small per-thread pool: releasing a buffer after every message
// and taking one for the next costs no malloc() in steady state. Past 1 MiB it grows by an
// eighth at a time. Nothing here throws: a block the heap refuses is an empty writable().
//
// With a MemoryAccount, each block it holds is charged to that account in the bytes malloc()
// really uses (MemoryBudget::cost()), and the account's budget counts every block taken from
// or given back to the heap, the pool's included.
class Buffer
{
public:
    static constexpr std::size_t kUnlimited = static_cast<std::size_t>(-1);
    static constexpr std::size_t kMinCapacity = 4096;

    // Whether growing asks the account's budget first (reads: the budget may say no), or only
    // the heap (what must be written once its input was taken: a reply).
    enum class Growth { Always, IfBudgetAllows };

    explicit Buffer(std::size_t maxSize = kUnlimited, MemoryAccount *account = nullptr) noexcept
        : maxSize_(maxSize), account_(account)
    {
    }
    Buffer(Buffer &&other) noexcept;
    Buffer &operator=(Buffer &&other) noexcept;
    Buffer(const Buffer &) = delete;
    Buffer &operator=(const Buffer &) = delete;
    ~Buffer();

    [[nodiscard]] std::size_t readable() const noexcept { return tail_ - head_; }
    [[nodiscard]] bool empty() const noexcept { return tail_ == head_; }
    [[nodiscard]] const char *data() const noexcept { return storage_ + head_; }
    // The unread bytes, writable in place (a WebSocket decoder unmasks them where they are).
    [[nodiscard]] char *data() noexcept { return storage_ + head_; }
    [[nodiscard]] std::string_view view() const noexcept { return { data(), readable() }; }
    // Bytes that may still be appended before the cap.
    [[nodiscard]] std::size_t room() const noexcept { return maxSize_ - readable(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::size_t maxSize() const noexcept { return maxSize_; }
    // What the storage really occupies (its block and malloc's overhead); 0 without storage.
    [[nodiscard]] std::size_t cost() const noexcept
    {
        return storage_ ? MemoryBudget::cost(capacity_) : 0;
    }

    // Returns writable space at the tail: min(want, room()) bytes, possibly more. Moves the
    // unread bytes to the front or grows the storage as needed. Empty when room() is 0, when
    // the budget says no (Growth::IfBudgetAllows) or when the heap has no block (then the
    // account, if any, is told: MemoryAccount::outOfMemory()).
    [[nodiscard]] std::span<char> writable(std::size_t want,
                                           Growth growth = Growth::Always) noexcept;
    // Marks n bytes of the last writable() span as written.
    void commit(std::size_t n) noexcept;
    // Drops n bytes from the head. The bytes stay readable through earlier pointers until the
    // next writable(), append() or release().
    void consume(std::size_t n) noexcept;
    // Appends all of s, or nothing and returns false if it would pass the cap or memory is
    // short.
    bool append(std::string_view s) noexcept;
    // Appends the parts one after the other, or nothing and returns false if they would pass
    // the cap or memory is short: for a message built from pieces, with no exception to catch.
    bool appendAll(std::initializer_list<std::string_view> parts) noexcept;
    void clear() noexcept { head_ = tail_ = 0; }
    // Gives the storage back (to the pool) if the buffer is empty.
    void release() noexcept;
    // The cap applies to later appends; bytes already held are kept.
    void setMaxSize(std::size_t maxSize) noexcept { maxSize_ = maxSize; }
    // Charges what the buffer holds, now and from now on, to account (none: nothing).
    void setAccount(MemoryAccount *account) noexcept;
    // Exchanges contents and storage; each buffer keeps its own cap and account (the charge
    // for each block moves with it).
    void swap(Buffer &other) noexcept;

    // Blocks kept for reuse by this thread, and their bytes (for tests and benchmarks).
    static std::size_t pooledBlocks() noexcept;
    static std::size_t pooledBytes() noexcept;
    // Gives back to the heap the pooled blocks no buffer took since the last call (all of
    // them with all = true): called every second or so, it returns what a burst left behind
    // within two calls, and costs nothing to a steady load, whose blocks keep cycling.
    static void trimPool(bool all = false) noexcept;
    // The pooled blocks are no longer counted in budget (it is going away).
    static void forgetBudget(const MemoryBudget &budget) noexcept;

private:
    void freeStorage() noexcept;

    char *storage_ = nullptr;
    std::size_t capacity_ = 0;
    std::size_t head_ = 0;
    std::size_t tail_ = 0;
    std::size_t maxSize_;
    MemoryAccount *account_;
};

} // namespace pisock
