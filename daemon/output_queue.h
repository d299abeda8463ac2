#pragma once

#include <cstddef>
#include <cstdint>
#include <sys/uio.h>

#include "chunk.h"
#include "common/buffer.h"

namespace pisock {

// What one connection still has to send, in order: its own bytes (the replies its Service
// writes into bytes()) and shared chunks, interleaved as they were queued. Owns the buffer and
// one reference per queued chunk; gather() lays the bytes out for one sendmsg() and consume()
// drops what was sent, releasing each chunk once it is out.
//
// The chunks wait in a ring of 8-byte entries; own bytes written while chunks wait get an
// entry too, holding their length, so that they go out between the chunks queued before and
// after them. Nothing is allocated per chunk: the ring grows by doubling and is kept.
//
// With a MemoryAccount (borrowed), what the queue holds is charged to it in real bytes: the
// buffer's block, the ring and, for each chunk queued, the chunk's whole block, so a client
// holding chunks alive is charged for them; cost() says how much.
class OutputQueue
{
public:
    explicit OutputQueue(MemoryAccount *account = nullptr) noexcept
        : own_(Buffer::kUnlimited, account), account_(account)
    {
    }
    ~OutputQueue();
    OutputQueue(const OutputQueue &) = delete;
    OutputQueue &operator=(const OutputQueue &) = delete;

    // Own bytes: append here; they go after everything queued before.
    [[nodiscard]] Buffer &bytes() noexcept { return own_; }
    // Queues a reference to chunk after everything pending, own bytes included. False (and
    // nothing queued) if the ring cannot grow for lack of memory.
    bool share(Chunk &chunk) noexcept;

    // Bytes still to send, own and shared.
    [[nodiscard]] std::size_t size() const noexcept { return own_.readable() + shared_; }
    // What the queue really occupies: the buffer's block, the ring, the queued chunks' blocks.
    [[nodiscard]] std::size_t cost() const noexcept
    {
        return own_.cost() + ringCost() + chunkCost_;
    }
    // What queueing chunk would add, at most (its block and a ring that doubles).
    [[nodiscard]] std::size_t costToShare(const Chunk &chunk) const noexcept;
    [[nodiscard]] bool empty() const noexcept { return size() == 0; }
    // Chunks queued (for tests).
    [[nodiscard]] std::size_t chunks() const noexcept { return chunks_; }

    // Points up to max iovecs at the pending bytes, in order; returns how many, and the bytes
    // they cover in bytes.
    std::size_t gather(iovec *iov, std::size_t max, std::size_t &bytes) const noexcept;
    // n bytes were sent: drops them from the front.
    void consume(std::size_t n) noexcept;
    // Drops everything.
    void clear() noexcept;
    // Gives back storage that holds nothing: the buffer (to its pool), a grown ring.
    void release() noexcept;

private:
    // An entry is a Chunk pointer, or (low bit set) the length of a run of own bytes.
    using Entry = std::uintptr_t;
    static bool isRun(Entry e) noexcept { return (e & 1) != 0; }
    static Chunk *chunkOf(Entry e) noexcept { return reinterpret_cast<Chunk *>(e); }
    static std::size_t lengthOf(Entry e) noexcept;
    bool reserve(std::size_t entries) noexcept;
    void push(Entry e) noexcept;
    void pop() noexcept;
    [[nodiscard]] Entry at(std::size_t i) const noexcept { return ring_[(head_ + i) & (cap_ - 1)]; }
    [[nodiscard]] std::size_t ringCost() const noexcept
    {
        return ring_ ? MemoryBudget::cost(cap_ * sizeof(Entry)) : 0;
    }
    void freeRing() noexcept;

    Buffer own_;
    MemoryAccount *account_;
    Entry *ring_ = nullptr;
    std::size_t cap_ = 0; // a power of two
    std::size_t head_ = 0;
    std::size_t count_ = 0;
    std::size_t headSent_ = 0; // bytes of the front entry already sent
    std::size_t chunks_ = 0;
    std::size_t shared_ = 0; // chunk bytes still to send
    std::size_t inRuns_ = 0; // own bytes that belong to runs in the ring; the rest go last
    std::size_t chunkCost_ = 0; // of the chunks queued
};

} // namespace pisock
