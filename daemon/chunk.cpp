#include "chunk.h"

#include <new>

#include "common/size_class_pool.h"

namespace pisock {

namespace {

// Size classes 64 B << 0 .. 64 B << 10 (64 KiB), header included. One budget counts every
// block here, pooled or live: the one given to the first create().
using Pool = SizeClassPool<64, 11>;
static_assert(Pool::kLargest == Chunk::kMaxPooled);
thread_local Pool gPool = {};
thread_local std::size_t gLive = 0;

std::size_t blockSize(std::size_t size) noexcept
{
    const std::size_t bytes = sizeof(Chunk) + size;
    const int c = Pool::classFor(bytes);
    return c >= 0 ? Pool::blockSize(static_cast<unsigned>(c)) : bytes;
}

} // namespace

std::size_t Chunk::costOf(std::size_t size) noexcept
{
    return MemoryBudget::cost(blockSize(size));
}

Chunk *Chunk::create(std::size_t size, MemoryBudget *budget) noexcept
{
    if (gLive == 0 && gPool.budget != budget) {
        trimPool(true); // blocks counted elsewhere
        gPool.budget = budget;
    }
    if (budget != gPool.budget)
        return nullptr; // one budget per thread
    const std::size_t bytes = blockSize(size);
    const int c = Pool::classFor(sizeof(Chunk) + size);
    void *block = nullptr;
    if (c >= 0 && gPool.has(static_cast<unsigned>(c))) {
        block = gPool.take(static_cast<unsigned>(c));
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
    ++gLive;
    return new (block) Chunk(size, c);
}

void Chunk::destroy(Chunk *chunk) noexcept
{
    const int c = chunk->sizeClass_;
    const std::size_t bytes = blockSize(chunk->size_);
    chunk->~Chunk();
    --gLive;
    void *block = chunk;
    // Near the budget a block goes back to the heap at once, not to the pool.
    if (c >= 0 && !(gPool.budget && gPool.budget->pressure()) &&
        gPool.put(block, static_cast<unsigned>(c)))
        return;
    gPool.release(block, bytes);
}

void Chunk::trimPool(bool all) noexcept
{
    gPool.trim(all);
}

void Chunk::forgetBudget(const MemoryBudget &budget) noexcept
{
    if (gPool.budget == &budget)
        gPool.budget = nullptr;
}

std::size_t Chunk::live() noexcept
{
    return gLive;
}

std::size_t Chunk::pooledBlocks() noexcept
{
    return gPool.blocks();
}

} // namespace pisock
