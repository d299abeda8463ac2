#pragma once

#include <cstddef>
#include <initializer_list>
#include <span>
#include <string_view>

namespace pisock {

// Owns a byte queue with a hard size cap: bytes are appended at the tail and consumed at the
// head. Storage is allocated on first use and can be released when empty, so an idle
// connection costs no buffer memory. Storage comes in power-of-two blocks from 4 KiB to
// 1 MiB, recycled through a small per-thread pool: releasing a buffer after every message
// and taking one for the next costs no malloc() in steady state.
class Buffer
{
public:
    static constexpr std::size_t kUnlimited = static_cast<std::size_t>(-1);
    static constexpr std::size_t kMinCapacity = 4096;

    explicit Buffer(std::size_t maxSize = kUnlimited) noexcept : maxSize_(maxSize) {}
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

    // Returns writable space at the tail: min(want, room()) bytes, possibly more. Moves the
    // unread bytes to the front or grows the storage as needed. Empty only when room() is 0.
    [[nodiscard]] std::span<char> writable(std::size_t want);
    // Marks n bytes of the last writable() span as written.
    void commit(std::size_t n) noexcept;
    // Drops n bytes from the head. The bytes stay readable through earlier pointers until the
    // next writable(), append() or release().
    void consume(std::size_t n) noexcept;
    // Appends all of s, or nothing and returns false if it would pass the cap.
    bool append(std::string_view s);
    // Appends the parts one after the other, or nothing and returns false if they would pass
    // the cap or memory is short: for a message built from pieces, with no exception to catch.
    bool appendAll(std::initializer_list<std::string_view> parts) noexcept;
    void clear() noexcept { head_ = tail_ = 0; }
    // Gives the storage back (to the pool) if the buffer is empty.
    void release() noexcept;
    // The cap applies to later appends; bytes already held are kept.
    void setMaxSize(std::size_t maxSize) noexcept { maxSize_ = maxSize; }
    // Exchanges contents and storage; each buffer keeps its own cap.
    void swap(Buffer &other) noexcept;

    // Blocks kept for reuse by this thread, and their bytes (for tests and benchmarks).
    static std::size_t pooledBlocks() noexcept;
    static std::size_t pooledBytes() noexcept;

private:
    void freeStorage() noexcept;

    char *storage_ = nullptr;
    std::size_t capacity_ = 0;
    std::size_t head_ = 0;
    std::size_t tail_ = 0;
    std::size_t maxSize_;
};

} // namespace pisock
