#include "chunk.h"

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
struct Pool {
    FreeBlock *head[kClasses];
    std::size_t count[kClasses];
    std::size_t live;
};
thread_local Pool gPool = {};

int classOf(std::size_t bytes) noexcept
{
    for (unsigned c = 0; c < kClasses; ++c)
        if (bytes <= (kMinBlock << c))
            return static_cast<int>(c);
    return -1;
}

} // namespace

Chunk *Chunk::create(std::size_t size) noexcept
{
    const std::size_t bytes = sizeof(Chunk) + size;
    const int c = classOf(bytes);
    void *block = nullptr;
    if (c >= 0 && gPool.head[c]) {
        FreeBlock *free = gPool.head[c];
        gPool.head[c] = free->next;
        --gPool.count[c];
        block = free;
    } else {
        block = ::operator new(c >= 0 ? kMinBlock << c : bytes, std::nothrow);
        if (!block)
            return nullptr;
    }
    ++gPool.live;
    return new (block) Chunk(size, c);
}

void Chunk::destroy(Chunk *chunk) noexcept
{
    const int c = chunk->sizeClass_;
    chunk->~Chunk();
    --gPool.live;
    void *block = chunk;
    if (c >= 0 && gPool.count[c] < kPoolBytes / (kMinBlock << c)) {
        gPool.head[c] = new (block) FreeBlock{ gPool.head[c] };
        ++gPool.count[c];
        return;
    }
    ::operator delete(block);
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
