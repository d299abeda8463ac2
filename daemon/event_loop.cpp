#include "event_loop.h"

#include <algorithm>
#include <cerrno>
#include <new>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <system_error>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

namespace pisock {

namespace {

// Events per epoll_wait(): the default --max-connections, so that a polite client's edge is
// not left behind hundreds of busy ones for another turn (a busy one's edge costs little).
constexpr int kMaxEvents = 1024;

} // namespace

// Reads its fd until EAGAIN and hands each record to a callback: the signalfd and the timerfd.
class EventLoop::FdCallback : public IoHandler
{
public:
    FdCallback(UniqueFd fd, std::function<void(const void *)> fn, std::size_t recordSize)
        : fd_(std::move(fd)), fn_(std::move(fn)), recordSize_(recordSize)
    {
    }

    void onIo(std::uint32_t) noexcept override
    {
        alignas(signalfd_siginfo) char record[sizeof(signalfd_siginfo)];
        // ET: read until EAGAIN, or the next signal or tick would raise no new edge.
        for (;;) {
            const ssize_t n = ::read(fd_.get(), record, recordSize_);
            if (n == static_cast<ssize_t>(recordSize_)) {
                fn_(record);
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            return;
        }
    }

    [[nodiscard]] int fd() const noexcept { return fd_.get(); }

private:
    UniqueFd fd_;
    std::function<void(const void *)> fn_;
    std::size_t recordSize_;
};

EventLoop::EventLoop() : epoll_(::epoll_create1(EPOLL_CLOEXEC)), events_(kMaxEvents)
{
    if (!epoll_)
        throw std::system_error(errno, std::system_category(), "epoll_create1");
    updateTime();
}

EventLoop::~EventLoop() = default;

int EventLoop::add(int fd, IoHandler &handler, std::uint32_t events) noexcept
{
    epoll_event ev{};
    ev.events = events | EPOLLET;
    ev.data.ptr = &handler;
    return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

void EventLoop::reserve(std::size_t n)
{
    for (auto &list : deferred_)
        list.reserve(n);
    for (auto &list : running_)
        list.reserve(n);
    retired_.reserve(n);
}

void EventLoop::defer(IoHandler &handler) noexcept
{
    deferTo(deferred_[0], handler);
}

void EventLoop::deferHeavy(IoHandler &handler, Turn turn) noexcept
{
    deferTo(deferred_[turn == Turn::Waited ? 1 : 2], handler);
}

void EventLoop::deferTo(std::vector<IoHandler *> &list, IoHandler &handler) noexcept
{
    if (handler.deferred_)
        return;
    try {
        list.push_back(&handler);
        handler.deferred_ = true;
    } catch (const std::bad_alloc &) {
        // Past the room reserve() made, and the heap is out: the handler is called on its
        // next event instead. Every owner reserves for all its handlers, so this is a bug.
    }
}

void EventLoop::retire(std::unique_ptr<IoHandler> handler) noexcept
{
    // A deferred handler must not be called after this batch destroys it.
    if (handler->deferred_)
        for (auto &list : deferred_)
            std::erase(list, handler.get());
    try {
        retired_.push_back(std::move(handler));
    } catch (const std::bad_alloc &) {
        // Past reserve()'s room with the heap out (a bug): an event of this batch may still
        // name the handler, so it is leaked rather than destroyed.
        [[maybe_unused]] IoHandler *leaked = handler.release();
    }
}

void EventLoop::watchSignals(std::initializer_list<int> signals, std::function<void(int)> fn)
{
    sigset_t set;
    sigemptyset(&set);
    for (int signo : signals)
        sigaddset(&set, signo);
    if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0)
        throw std::system_error(errno, std::system_category(), "sigprocmask");
    UniqueFd fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!fd)
        throw std::system_error(errno, std::system_category(), "signalfd");
    auto callback = [fn = std::move(fn)](const void *record) {
        fn(static_cast<int>(static_cast<const signalfd_siginfo *>(record)->ssi_signo));
    };
    signals_ = std::make_unique<FdCallback>(std::move(fd), callback, sizeof(signalfd_siginfo));
    if (int err = add(signals_->fd(), *signals_, EPOLLIN); err < 0)
        throw std::system_error(-err, std::system_category(), "epoll_ctl(signalfd)");
}

void EventLoop::setTicker(unsigned periodMs, std::function<void()> fn)
{
    UniqueFd fd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!fd)
        throw std::system_error(errno, std::system_category(), "timerfd_create");
    itimerspec spec{};
    spec.it_interval.tv_sec = static_cast<time_t>(periodMs / 1000); // long: 32 bits on armhf
    spec.it_interval.tv_nsec = static_cast<long>(periodMs % 1000) * 1000000L;
    spec.it_value = spec.it_interval;
    if (::timerfd_settime(fd.get(), 0, &spec, nullptr) != 0)
        throw std::system_error(errno, std::system_category(), "timerfd_settime");
    // One call per read, however many periods expired: a late loop catches up once.
    auto callback = [fn = std::move(fn)](const void *) { fn(); };
    ticker_ = std::make_unique<FdCallback>(std::move(fd), callback, sizeof(std::uint64_t));
    if (int err = add(ticker_->fd(), *ticker_, EPOLLIN); err < 0)
        throw std::system_error(-err, std::system_category(), "epoll_ctl(timerfd)");
}

void EventLoop::updateTime() noexcept
{
    now_ = monotonicMs();
}

int EventLoop::runOnce(int timeoutMs) noexcept
{
    const int n = ::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()),
                               nothingDeferred() ? timeoutMs : 0);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    updateTime();
    ++turn_;

    for (int i = 0; i < n; ++i) {
        std::uint32_t ev = events_[static_cast<std::size_t>(i)].events;
        // The next recv()/send() reports the error itself.
        if (ev & (EPOLLERR | EPOLLHUP))
            ev |= EPOLLIN | EPOLLOUT;
        static_cast<IoHandler *>(events_[static_cast<std::size_t>(i)].data.ptr)
                ->onIo(ev & kAllEvents);
    }

    // Handlers deferred while running go to the next batch, after a non-blocking poll, so
    // fresh events get their turn.
    running_.swap(deferred_);
    for (auto &list : running_) {
        for (IoHandler *handler : list) {
            handler->deferred_ = false;
            handler->onResume();
        }
        list.clear();
    }

    retired_.clear();
    return n;
}

bool EventLoop::nothingDeferred() const noexcept
{
    return std::all_of(deferred_.begin(), deferred_.end(),
                       [](const auto &list) { return list.empty(); });
}

int EventLoop::run() noexcept
{
    while (!stopped_) {
        const int n = runOnce(-1);
        if (n < 0)
            return n;
    }
    return 0;
}

} // namespace pisock
