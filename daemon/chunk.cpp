#include "chunk.h"

#include <algorithm>
#include <new>

#include "common/units.h"

namespace pisock {

namespace {

// Size classes 64 B << 0 .. 64 B << 10 (64 KiB), header included. A free block holds the
// link to the next one of its class; each class keeps at most kPoolBytes of them.
constexpr unsigned kClasses = 11;
constexpr std::size_t kMinBlock = 64;
constexpr std::size_t kPoolBytes = 512 * kKiB;
static_assert(kMinBlock << (kClasses - 1) == Chunk::kMaxPooled);

struct FreeBlock {
    FreeBlock *next;
};

// Plain data, constant-initialised: no constructor runs, and blocks left here at exit are
// still reachable (LeakSanitizer does not count them).
// One budget counts every block here, pooled or live: the one given to the first create().
struct Pool {
    FreeBlock *head[kClasses];
    std::size_t count[kClasses];
    std::size_t untouched[kClasses]; // the fewest blocks pooled since the last trim
    std::size_t live;
    MemoryBudget *budget;
};
thread_local Pool gPool = {};

int classOf(std::size_t bytes) noexcept
{
    for (unsigned c = 0; c < kClasses; ++c)
        if (bytes <= (kMinBlock << c))
            return static_cast<int>(c);
    return -1;
}

std::size_t blockSize(std::size_t size) noexcept
{
    const std::size_t bytes = sizeof(Chunk) + size;
    const int c = classOf(bytes);
    return c >= 0 ? kMinBlock << c : bytes;
}

void freeBlock(void *block, std::size_t bytes) noexcept
{
    ::operator delete(block);
    if (gPool.budget)
        gPool.budget->released(MemoryBudget::cost(bytes));
}

} // namespace

std::size_t Chunk::costOf(std::size_t size) noexcept
{
    return MemoryBudget::cost(blockSize(size));
}

Chunk *Chunk::create(std::size_t size, MemoryBudget *budget) noexcept
{
    if (gPool.live == 0 && gPool.budget != budget) {
        trimPool(true); // blocks counted elsewhere
        gPool.budget = budget;
    }
    if (budget != gPool.budget)
        return nullptr; // one budget per thread
    const std::size_t bytes = blockSize(size);
    const int c = classOf(sizeof(Chunk) + size);
    void *block = nullptr;
    if (c >= 0 && gPool.head[c]) {
        FreeBlock *free = gPool.head[c];
        gPool.head[c] = free->next;
        --gPool.count[c];
        gPool.untouched[c] = std::min(gPool.untouched[c], gPool.count[c]);
        block = free;
    } else {
        const std::size_t cost = MemoryBudget::cost(bytes);
        if (budget && !budget->fits(cost)) {
            trimPool(true); // parked blocks of other sizes count too
            if (!budget->fits(cost))
                return nullptr;
        }
        block = ::operator new(bytes, std::nothrow);
        if (!block) {
            if (budget)
                budget->failed();
            return nullptr;
        }
        if (budget)
            budget->acquired(cost);
    }
    ++gPool.live;
    return new (block) Chunk(size, c);
}

void Chunk::destroy(Chunk *chunk) noexcept
{
    const int c = chunk->sizeClass_;
    const std::size_t bytes = blockSize(chunk->size_);
    chunk->~Chunk();
    --gPool.live;
    void *block = chunk;
    // Near the budget a block goes back to the heap at once, not to the pool.
    if (c >= 0 && gPool.count[c] < kPoolBytes / (kMinBlock << c) &&
        !(gPool.budget && gPool.budget->pressure())) {
        gPool.head[c] = new (block) FreeBlock{ gPool.head[c] };
        ++gPool.count[c];
        return;
    }
    freeBlock(block, bytes);
}

void Chunk::trimPool(bool all) noexcept
{
    for (unsigned c = 0; c < kClasses; ++c) {
        std::size_t n = all ? gPool.count[c] : gPool.untouched[c];
        while (n-- > 0 && gPool.head[c]) {
            FreeBlock *free = gPool.head[c];
            gPool.head[c] = free->next;
            --gPool.count[c];
            freeBlock(free, kMinBlock << c);
        }
        gPool.untouched[c] = gPool.count[c];
    }
}

void Chunk::forgetBudget(const MemoryBudget &budget) noexcept
{
    if (gPool.budget == &budget)
        gPool.budget = nullptr;
}

std::size_t Chunk::live() noexcept
{
    return gPool.live;
}

std::size_t Chunk::pooledBlocks() noexcept
{
    std::size_t n = 0;
    for (const std::size_t count : gPool.count)
        n += count;
    return n;
}

} // namespace pisock
