#pragma once

#include <cstddef>
#include <cstdint>

namespace pisock {

// What a program's buffers, queues and message blocks really occupy on the heap, against one
// limit (pisockd's --memory-limit). Owns only counters: every block taken from the heap is
// reported with acquired() and every block given back with released(), in the bytes malloc()
// really uses for it (cost()), whether the block is in use or parked in a pool. One thread:
// plain integers, nothing here makes a system call.
//
// Near the limit the budget degrades rather than grows. Past soft() (three quarters of the
// limit) it is under pressure: a holder (a connection) may still grow while it holds less than
// its share() of the last quarter, so the clients that hold the most stop first and a small
// client is still served; nothing taken from the heap may pass the limit itself.
class MemoryBudget
{
public:
    static constexpr std::size_t kUnlimited = static_cast<std::size_t>(-1);
    // Blocks this large and larger come from mmap() and go back to the kernel when freed (the
    // program sets M_MMAP_THRESHOLD to it, so that glibc does not raise it by itself).
    static constexpr std::size_t kMmapThreshold = 128 * 1024;
    // The least a holder may grow to under pressure: a 4 KiB input block and a 4 KiB output
    // block with room to spare, enough for a round trip of a small message.
    static constexpr std::size_t kMinShare = 16 * 1024;
    static constexpr std::size_t kPressureMargin = 64 * 1024 + 1024;

    // What malloc() really uses for a block of bytes: glibc adds a size word and rounds up to
    // twice the word size; a block from mmap() takes two words and whole pages.
    static constexpr std::size_t cost(std::size_t bytes) noexcept
    {
        constexpr std::size_t kWord = sizeof(std::size_t);
        if (bytes >= kMmapThreshold)
            return (bytes + 2 * kWord + 4095) / 4096 * 4096;
        const std::size_t chunk = (bytes + kWord + 2 * kWord - 1) / (2 * kWord) * (2 * kWord);
        return chunk < 4 * kWord ? 4 * kWord : chunk;
    }

    explicit MemoryBudget(std::size_t limit = kUnlimited) noexcept { setLimit(limit); }
    // Buffer blocks still pooled are counted nowhere after this (Buffer::forgetBudget()).
    ~MemoryBudget();
    MemoryBudget(const MemoryBudget &) = delete;
    MemoryBudget &operator=(const MemoryBudget &) = delete;

    void setLimit(std::size_t limit) noexcept;
    [[nodiscard]] std::size_t limit() const noexcept { return limit_; }
    [[nodiscard]] std::size_t soft() const noexcept { return soft_; }
    [[nodiscard]] std::size_t used() const noexcept { return used_; }
    [[nodiscard]] std::size_t peak() const noexcept { return peak_; }
    // Allocations the heap refused (malloc() returned nothing), since the start.
    [[nodiscard]] std::uint64_t failures() const noexcept { return failures_; }

    // Within one large read (kPressureMargin) of three quarters of the limit: new clients are
    // refused, the big holders stop growing. (Past it only small blocks pass, so used() may
    // stay just under soft() while every big holder waits: that is pressure too.)
    [[nodiscard]] bool pressure() const noexcept { return used_ + kPressureMargin >= soft_; }
    // The holders sharing the last quarter (connections); set by their owner.
    void setHolders(std::size_t holders) noexcept { holders_ = holders; }
    // What one holder may hold and still grow under pressure: its part of the last quarter,
    // at least kMinShare.
    [[nodiscard]] std::size_t share() const noexcept;
    // May a holder of held bytes take cost more? fromHeap: the block is new to the heap and
    // raises used(); otherwise it comes from a pool, already counted.
    [[nodiscard]] bool allows(std::size_t held, std::size_t cost, bool fromHeap) const noexcept;
    // Whether cost more bytes from the heap stay within the limit (for blocks no one holder
    // owns, such as a broadcast message).
    [[nodiscard]] bool fits(std::size_t cost) const noexcept
    {
        return used_ <= limit_ && cost <= limit_ - used_;
    }

    void acquired(std::size_t cost) noexcept;
    void released(std::size_t cost) noexcept { used_ -= cost < used_ ? cost : used_; }
    void failed() noexcept { ++failures_; }

private:
    std::size_t limit_ = kUnlimited;
    std::size_t soft_ = kUnlimited;
    std::size_t used_ = 0;
    std::size_t peak_ = 0;
    std::size_t holders_ = 0;
    std::uint64_t failures_ = 0;
};

// One holder's part of a budget (a connection's buffers and queue): the bytes its blocks cost,
// kept by the buffers as they take and give back blocks. Borrows the budget (none: nothing is
// limited, only counted). Also remembers that an allocation for it failed, so that its owner
// can close it.
class MemoryAccount
{
public:
    explicit MemoryAccount(MemoryBudget *budget = nullptr) noexcept : budget_(budget) {}
    MemoryAccount(const MemoryAccount &) = delete;
    MemoryAccount &operator=(const MemoryAccount &) = delete;

    [[nodiscard]] MemoryBudget *budget() const noexcept { return budget_; }
    [[nodiscard]] std::size_t held() const noexcept { return held_; }
    [[nodiscard]] bool allows(std::size_t cost, bool fromHeap) const noexcept
    {
        return !budget_ || budget_->allows(held_, cost, fromHeap);
    }
    void add(std::size_t cost) noexcept { held_ += cost; }
    void remove(std::size_t cost) noexcept { held_ -= cost < held_ ? cost : held_; }

    // The heap refused a block this holder needed.
    void noteFailure() noexcept
    {
        outOfMemory_ = true;
        if (budget_)
            budget_->failed();
    }
    [[nodiscard]] bool outOfMemory() const noexcept { return outOfMemory_; }

private:
    MemoryBudget *budget_;
    std::size_t held_ = 0;
    bool outOfMemory_ = false;
};

} // namespace pisock
