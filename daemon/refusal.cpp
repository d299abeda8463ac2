#include "refusal.h"

#include <algorithm>
#include <cerrno>
#include <sys/socket.h>

#include "common/units.h"

namespace pisock {

namespace {

constexpr std::size_t kDiscardBudget = 64 * kKiB; // per wakeup, as for connections

enum class Discard { Empty, Closed, Budget };

// Reads and throws away what is queued: until EAGAIN, the peer's FIN or an error.
Discard discard(int fd, std::size_t budget) noexcept
{
    char scratch[4096];
    while (budget > 0) {
        const ssize_t n = ::recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
        if (n > 0) {
            budget -= std::min(budget, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && errno == EAGAIN ? Discard::Empty : Discard::Closed;
    }
    return Discard::Budget;
}

} // namespace

void refuseNow(int fd, std::string_view line) noexcept
{
    if (!line.empty()) [[maybe_unused]]
        auto n = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(fd, SHUT_WR);
    discard(fd, kDiscardBudget);
}

// One refused socket: discards input until the peer's FIN, then tells the queue.
class RefusalQueue::Pending final : public IoHandler
{
public:
    Pending(RefusalQueue &queue, UniqueFd fd, std::uint64_t deadline)
        : queue_(queue), fd_(std::move(fd)), deadline_(deadline)
    {
    }

    void onIo(std::uint32_t) noexcept override { discardSome(); }
    void onResume() noexcept override { discardSome(); }

    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    [[nodiscard]] std::uint64_t deadline() const noexcept { return deadline_; }
    void close() noexcept { fd_.reset(); }
    // Its place in the queue: it leaves in O(1) when its peer closes first.
    std::list<std::unique_ptr<Pending>>::iterator self;

private:
    void discardSome() noexcept
    {
        if (!fd_)
            return;
        switch (discard(fd_.get(), kDiscardBudget)) {
        case Discard::Empty:
            return;
        case Discard::Budget:
            queue_.loop_.defer(*this); // ET: what is left raises no new edge
            return;
        case Discard::Closed:
            queue_.finished(*this);
            return;
        }
    }

    RefusalQueue &queue_;
    UniqueFd fd_;
    std::uint64_t deadline_;
};

RefusalQueue::RefusalQueue(EventLoop &loop, unsigned lingerMs) : loop_(loop), lingerMs_(lingerMs)
{
}

RefusalQueue::~RefusalQueue() = default;

void RefusalQueue::refuse(UniqueFd fd, std::string_view line) noexcept
{
    if (!line.empty()) [[maybe_unused]]
        auto n = ::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(fd.get(), SHUT_WR);
    if (pending_.size() >= kMaxOpen) {
        discard(fd.get(), kDiscardBudget); // a flood: hold no more descriptors
        return;
    }
    try {
        auto pending = std::make_unique<Pending>(*this, std::move(fd), loop_.now() + lingerMs_);
        Pending &ref = *pending;
        ref.self = pending_.insert(pending_.end(), std::move(pending));
        // EPOLL_CTL_ADD reports input already queued, or the FIN, as an event.
        if (loop_.add(ref.fd(), ref, EPOLLIN | EPOLLRDHUP) < 0)
            finished(ref);
    } catch (const std::bad_alloc &) {
        // fd is closed on the way out: an RST at worst.
    }
}

void RefusalQueue::finished(Pending &pending) noexcept
{
    pending.close();
    auto owned = std::move(*pending.self);
    pending_.erase(pending.self);
    loop_.retire(std::move(owned)); // an event of this batch may still name it
}

void RefusalQueue::expire(std::uint64_t now) noexcept
{
    while (!pending_.empty() && pending_.front()->deadline() <= now)
        finished(*pending_.front());
}

} // namespace pisock
