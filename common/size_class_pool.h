#pragma once

#include <algorithm>
#include <cstddef>
#include <new>

#include "memory_budget.h"
#include "units.h"

namespace pisock {

// Free heap blocks kept for reuse, in size classes kMinBlock << 0 .. kMinBlock << (kClasses -
// 1): Buffer's storage and the broadcast's chunks, so that taking and giving back a block per
// message costs no malloc(). A free block holds the link to the next one of its class; each
// class keeps at most kPoolBytes of them (one block at least). Every block, pooled or not, is
// counted in budget (where the pool's user says).
//
// Plain data, constant-initialised (`thread_local SizeClassPool<...> gPool = {};`): no
// constructor runs, and blocks left here at exit are still reachable (LeakSanitizer does not
// count them).
template<std::size_t kMinBlock, unsigned kClasses> struct SizeClassPool {
    static constexpr std::size_t kPoolBytes = 512 * kKiB;
    static constexpr std::size_t kLargest = kMinBlock << (kClasses - 1);

    struct FreeBlock {
        FreeBlock *next;
    };
    static_assert(kMinBlock >= sizeof(FreeBlock));

    FreeBlock *head[kClasses];
    std::size_t count[kClasses];
    std::size_t untouched[kClasses]; // the fewest blocks pooled since the last trim
    std::size_t bytes; // pooled
    MemoryBudget *budget; // where the blocks are counted

    static constexpr std::size_t blockSize(unsigned c) noexcept { return kMinBlock << c; }
    // The smallest class that holds n bytes; -1 past the largest.
    static int classFor(std::size_t n) noexcept
    {
        for (unsigned c = 0; c < kClasses; ++c)
            if (n <= blockSize(c))
                return static_cast<int>(c);
        return -1;
    }
    // The class of a block of exactly n bytes; -1 if none is.
    static int classOf(std::size_t n) noexcept
    {
        const int c = classFor(n);
        return c >= 0 && blockSize(static_cast<unsigned>(c)) == n ? c : -1;
    }

    [[nodiscard]] bool has(unsigned c) const noexcept { return head[c] != nullptr; }
    // A pooled block of class c; there must be one (has(c)).
    void *take(unsigned c) noexcept
    {
        FreeBlock *free = head[c];
        head[c] = free->next;
        --count[c];
        untouched[c] = std::min(untouched[c], count[c]);
        bytes -= blockSize(c);
        return free;
    }
    // Keeps block (of class c) unless its class is full: then false, and the caller frees it.
    bool put(void *block, unsigned c) noexcept
    {
        if (count[c] >= std::max<std::size_t>(1, kPoolBytes / blockSize(c)))
            return false;
        head[c] = new (block) FreeBlock{ head[c] };
        ++count[c];
        bytes += blockSize(c);
        return true;
    }
    // Gives a block back to the heap, and its cost to the budget.
    void release(void *block, std::size_t size) const noexcept
    {
        ::operator delete(block);
        if (budget)
            budget->released(MemoryBudget::cost(size));
    }
    // Gives back to the heap the blocks not taken since the last call (all of them if all).
    void trim(bool all) noexcept
    {
        for (unsigned c = 0; c < kClasses; ++c) {
            std::size_t n = all ? count[c] : untouched[c];
            while (n-- > 0 && head[c])
                release(take(c), blockSize(c));
            untouched[c] = count[c];
        }
    }
    [[nodiscard]] std::size_t blocks() const noexcept
    {
        std::size_t n = 0;
        for (const std::size_t k : count)
            n += k;
        return n;
    }
};

} // namespace pisock
