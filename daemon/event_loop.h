#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <sys/epoll.h>
#include <vector>

#include "common/unique_fd.h"

namespace pisock {

// Something the loop calls when its fd is ready. The loop only borrows handlers.
class IoHandler
{
public:
    virtual ~IoHandler() = default;
    // events: EPOLLIN | EPOLLOUT | EPOLLRDHUP, with EPOLLERR and EPOLLHUP folded into IN | OUT.
    virtual void onIo(std::uint32_t events) noexcept = 0;
    // Called back after EventLoop::defer(): once, however often defer() was asked.
    virtual void onResume() noexcept {}

private:
    friend class EventLoop;
    bool deferred_ = false; // on the loop's deferred list: defer() is idempotent
};

// Owns the epoll instance, a signalfd and a timerfd; runs handlers when their fds are ready,
// then the handlers deferred by defer(), then destroys the objects handed to retire(). It knows
// nothing of protocols or payloads.
class EventLoop
{
public:
    static constexpr std::uint32_t kAllEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP;

    EventLoop(); // throws std::system_error if epoll cannot be created
    ~EventLoop();
    EventLoop(const EventLoop &) = delete;
    EventLoop &operator=(const EventLoop &) = delete;

    // Registers fd once, edge-triggered; 0 or -errno. A closed fd leaves epoll by itself.
    int add(int fd, IoHandler &handler, std::uint32_t events = kAllEvents) noexcept;
    // Calls handler.onResume() after this dispatch batch, once however often it is asked; the
    // loop then polls without blocking until no handler is deferred. The handler must stay
    // alive until then (retire it). Does not allocate within the room made by reserve().
    void defer(IoHandler &handler) noexcept;
    // As defer(), for a handler that takes turns with others of its kind (a connection the
    // turn's byte budget cut short): resumed after every handler defer() named, so that the
    // light work (replies, broadcast sends, memory waiters) comes first; among these, those
    // that waited (were given nothing this batch) before those that were served.
    enum class Turn { Waited, Served };
    void deferHeavy(IoHandler &handler, Turn turn) noexcept;
    // Takes ownership of a closed handler and destroys it once no event of this batch can
    // reach it any more. Does not allocate within the room made by reserve().
    void retire(std::unique_ptr<IoHandler> handler) noexcept;

    // Blocks these signals and calls fn with each one received. Throws at startup on failure.
    void watchSignals(std::initializer_list<int> signals, std::function<void(int)> fn);
    // Calls fn every periodMs milliseconds (coalesced if the loop falls behind).
    void setTicker(unsigned periodMs, std::function<void()> fn);

    // One batch: waits up to timeoutMs (-1: forever), dispatches. Returns events handled or
    // -errno.
    int runOnce(int timeoutMs) noexcept;
    // Runs batches until stop(); 0, or -errno if epoll_wait failed.
    int run() noexcept;
    void stop() noexcept { stopped_ = true; }
    [[nodiscard]] bool stopped() const noexcept { return stopped_; }

    // Monotonic milliseconds, read once per batch.
    [[nodiscard]] std::uint64_t now() const noexcept { return now_; }
    // Batches run so far: what a handler sharing work per turn counts in.
    [[nodiscard]] std::uint64_t turn() const noexcept { return turn_; }
    // Makes room for n handlers deferred or retired at once, so that defer() and retire()
    // never allocate (and never fail) while the loop runs. Throws std::bad_alloc.
    void reserve(std::size_t n);
    void updateTime() noexcept;

private:
    class FdCallback;

    void deferTo(std::vector<IoHandler *> &list, IoHandler &handler) noexcept;
    [[nodiscard]] bool nothingDeferred() const noexcept;

    UniqueFd epoll_;
    std::vector<epoll_event> events_;
    // The deferred handlers, in the order they are resumed: defer()'s, then deferHeavy()'s
    // that waited, then those served; and the same lists of the batch being run.
    std::array<std::vector<IoHandler *>, 3> deferred_;
    std::array<std::vector<IoHandler *>, 3> running_;
    std::vector<std::unique_ptr<IoHandler>> retired_;
    std::unique_ptr<FdCallback> signals_;
    std::unique_ptr<FdCallback> ticker_;
    std::uint64_t now_ = 0;
    std::uint64_t turn_ = 0;
    bool stopped_ = false;
};

} // namespace pisock
