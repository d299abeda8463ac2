#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "common/memory_budget.h"
#include "common/units.h"

namespace pisock {

// One message's bytes as sent to many connections (broadcast mode): written once by its
// creator, then immutable, shared by counted references and freed when the last one goes.
// Single thread, so the count is a plain integer, not an atomic. Storage comes in size
// classes from 64 B to 64 KiB recycled through a small per-thread pool, so that building a
// chunk per message costs no malloc() in steady state; larger chunks come from the heap.
// With a budget, every block taken from or given back to the heap is counted in it, in the
// bytes malloc() really uses (MemoryBudget::cost()).
class Chunk
{
public:
    static constexpr std::size_t kMaxPooled = 64 * kKiB; // header included

    // A chunk of size bytes (size > 0) holding one reference, the caller's; its bytes are to be
    // written through data() before it is shared. nullptr when memory is short: the heap has
    // no block, or a new one would pass the budget's limit.
    static Chunk *create(std::size_t size, MemoryBudget *budget = nullptr) noexcept;
    // What a chunk of size bytes really occupies: its block, header included, and malloc's
    // overhead.
    static std::size_t costOf(std::size_t size) noexcept;

    Chunk(const Chunk &) = delete;
    Chunk &operator=(const Chunk &) = delete;

    [[nodiscard]] char *data() noexcept { return reinterpret_cast<char *>(this + 1); }
    [[nodiscard]] const char *data() const noexcept
    {
        return reinterpret_cast<const char *>(this + 1);
    }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::size_t cost() const noexcept { return costOf(size_); }
    [[nodiscard]] std::uint32_t refs() const noexcept { return refs_; }
    void ref() noexcept { ++refs_; }
    void unref() noexcept
    {
        if (--refs_ == 0)
            destroy(this);
    }

    // Chunks alive, and free blocks kept by this thread's pool (for tests and benchmarks).
    static std::size_t live() noexcept;
    static std::size_t pooledBlocks() noexcept;
    // As Buffer::trimPool(): gives back the pooled blocks not taken since the last call (or
    // all of them).
    static void trimPool(bool all = false) noexcept;
    // The chunks and pooled blocks are no longer counted in budget (it is going away).
    static void forgetBudget(const MemoryBudget &budget) noexcept;

private:
    Chunk(std::size_t size, int sizeClass) noexcept : sizeClass_(sizeClass), size_(size) {}
    ~Chunk() = default;
    static void destroy(Chunk *chunk) noexcept;

    std::uint32_t refs_ = 1;
    std::int32_t sizeClass_; // -1: from the heap
    std::size_t size_;
};

// Holds one reference to a chunk, released when it goes. Move-only.
class ChunkRef
{
public:
    ChunkRef() = default;
    // Adopts the reference chunk carries (as Chunk::create() returns it).
    explicit ChunkRef(Chunk *chunk) noexcept : chunk_(chunk) {}
    ChunkRef(ChunkRef &&other) noexcept : chunk_(std::exchange(other.chunk_, nullptr)) {}
    ChunkRef &operator=(ChunkRef &&other) noexcept
    {
        if (this != &other) {
            reset();
            chunk_ = std::exchange(other.chunk_, nullptr);
        }
        return *this;
    }
    ChunkRef(const ChunkRef &) = delete;
    ChunkRef &operator=(const ChunkRef &) = delete;
    ~ChunkRef() { reset(); }

    [[nodiscard]] Chunk *get() const noexcept { return chunk_; }
    Chunk *operator->() const noexcept { return chunk_; }
    Chunk &operator*() const noexcept { return *chunk_; }
    explicit operator bool() const noexcept { return chunk_ != nullptr; }
    void reset() noexcept
    {
        if (chunk_)
            std::exchange(chunk_, nullptr)->unref();
    }

private:
    Chunk *chunk_ = nullptr;
};

} // namespace pisock
