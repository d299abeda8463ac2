#include "connection.h"

#include <algorithm>
#include <cerrno>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "common/errors.h"
#include "common/units.h"
#include "log.h"

namespace pisock {

namespace {

constexpr std::size_t kMaxReadHint = 64 * kKiB;
// Near the memory budget, the least output mark: room for a 4 KiB block of replies, so that a
// client that reads its replies keeps being answered however much input it holds.
constexpr std::size_t kMinOutputMark = MemoryBudget::cost(Buffer::kMinCapacity) + 1;
// iovecs per sendmsg(): IOV_MAX on Linux, so a burst of messages to one client is one call.
constexpr std::size_t kMaxIov = 1024;

} // namespace

const char *stateName(ConnState state) noexcept
{
    switch (state) {
    case ConnState::Open:
        return "Open";
    case ConnState::PeerClosed:
        return "PeerClosed";
    case ConnState::Draining:
        return "Draining";
    case ConnState::Closed:
        return "Closed";
    }
    return "?";
}

Connection::Connection(EventLoop &loop, UniqueFd fd, const SocketAddress &peer, std::uint64_t id,
                       std::unique_ptr<Service> service, const ConnectionLimits &limits,
                       ConnectionOwner &owner)
    : loop_(loop), fd_(std::move(fd)), peer_(formatPeer(peer)), id_(id),
      service_(std::move(service)), limits_(limits), owner_(owner), account_(limits.memory),
      in_(Buffer::kUnlimited, &account_), out_(&account_), startedMs_(loop.now())
{
}

Connection::~Connection()
{
    if (state_ != ConnState::Closed)
        service_->detach();
}

void Connection::watchIdle(IdleList &list) noexcept
{
    idle_ = &list;
    active();
}

void Connection::active() noexcept
{
    if (idle_)
        idle_->touch(*this, loop_.now());
}

bool Connection::start() noexcept
{
    service_->attach(*this);
    // EPOLL_CTL_ADD reports readiness that is already there, so no first read is needed.
    if (int err = loop_.add(fd_.get(), *this); err < 0) {
        log::warning("epoll_ctl for {}: {}, closing", peer_, errnoText(-err));
        close("epoll_ctl failed");
        return false;
    }
    return true;
}

void Connection::setState(ConnState next) noexcept
{
    if (log::enabled(log::Level::Debug)) {
        const log::Peer who{ peer_, id_ };
        log::at(log::Level::Debug, &who, "{} -> {}", stateName(state_), stateName(next));
    }
    state_ = next;
}

void Connection::onIo(std::uint32_t events) noexcept
{
    if (events == EventLoop::kResume)
        deferred_ = false;
    if (state_ == ConnState::Closed)
        return;
    if (events & (EPOLLIN | EPOLLRDHUP))
        canRead_ = true;
    if (events & EPOLLRDHUP)
        eofPending_ = true;
    if (events & EPOLLOUT)
        canWrite_ = true;
    handle();
}

void Connection::deferSelf() noexcept
{
    if (!deferred_) {
        deferred_ = true;
        loop_.defer(*this);
    }
}

void Connection::handle() noexcept
{
    if (yielded_) {
        yielded_ = false;
        runService(); // input the service left for this turn
    }
    readInput();
    if (state_ == ConnState::Closed || flush() == IoResult::Error)
        return;
    if (outputDrained() && !afterDrain())
        return;
    finishStop();
    afterFlush();
}

// Output is down to the low-water mark: tell the service if it asked, read again if paused.
// False if the connection closed meanwhile.
bool Connection::afterDrain() noexcept
{
    if (drainWatch_) {
        drainWatch_ = false;
        if (!shutDown_) {
            service_->onDrained(out_.bytes());
            if (flush() == IoResult::Error)
                return false;
        }
    }
    if (readPaused_ && outputDrained()) {
        readPaused_ = false;
        runService(); // input left over from before the pause
        if (flush() == IoResult::Error)
            return false;
        // ET: data that queued in the kernel meanwhile raises no new edge.
        if (canRead_ || !in_.empty())
            deferSelf();
    }
    return true;
}

// The output mark: --high-water, or near the memory budget what is left of this connection's
// share once its input is counted (the connections that hold the most stop first).
std::size_t Connection::outputMark() const noexcept
{
    const MemoryBudget *budget = account_.budget();
    if (!budget || !budget->pressure())
        return limits_.highWater;
    const std::size_t share = budget->share();
    const std::size_t input = in_.cost();
    return std::min(limits_.highWater, std::max(kMinOutputMark, share > input ? share - input : 0));
}

// Down to the low-water mark (or half the output mark near the budget, whichever is lower), or
// nothing left to send at all.
bool Connection::outputDrained() const noexcept
{
    return out_.empty() || out_.cost() <= std::min(limits_.lowWater, outputMark() / 2);
}

// The budget refused a block to read into, or the heap had none.
void Connection::memoryShort() noexcept
{
    if (account_.outOfMemory()) {
        close("out of memory");
        return;
    }
    if (!memoryWait_) {
        memoryWait_ = true;
        owner_.onMemoryWait(*this); // reads again on memoryAvailable()
    }
}

// Waiting for memory with the peer gone: closes now if it was a reset, whose error the recv()
// we cannot make would have reported.
void Connection::noticeReset() noexcept
{
    if (!eofPending_)
        return;
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0)
        close("reset by peer");
}

void Connection::memoryAvailable() noexcept
{
    if (memoryWait_) {
        memoryWait_ = false;
        deferSelf(); // ET: what waits in the kernel raises no new edge
    }
}

IoResult Connection::readOnce(std::size_t want, std::size_t &asked, std::size_t &got) noexcept
{
    // Read into a block sized to what this peer sends: a chatty client reads into 4 KiB, a
    // streaming one grows to 64 KiB. Blocks come from the Buffer pool and go back when empty.
    auto span = in_.writable(std::min(want, readHint_), Buffer::Growth::IfBudgetAllows);
    if (span.empty() && !account_.outOfMemory())
        span = in_.writable(1, Buffer::Growth::IfBudgetAllows); // the room the block has left
    asked = std::min(want, span.size());
    if (asked == 0) {
        memoryShort();
        return IoResult::WouldBlock;
    }
    for (;;) {
        const ssize_t n = ::recv(fd_.get(), span.data(), asked, 0);
        if (n > 0) {
            got = static_cast<std::size_t>(n);
            in_.commit(got);
            bytesIn_ += got;
            if (got == asked)
                readHint_ = std::min(readHint_ * 2, kMaxReadHint);
            active();
            return IoResult::Progress;
        }
        if (n == 0)
            return IoResult::Eof;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN ? IoResult::WouldBlock : IoResult::Error;
    }
}

void Connection::readInput() noexcept
{
    // This wakeup's bytes: from what all connections may read this loop turn, if limited.
    TurnBudget *turn = limits_.turn;
    std::size_t budget = turn ? turn->take(loop_.turn(), limits_.ioBudget) : limits_.ioBudget;
    readUpTo(budget);
    if (turn)
        turn->giveBack(budget);
}

void Connection::readUpTo(std::size_t &budget) noexcept
{
    while (canRead_) {
        if (state_ == ConnState::Draining) {
            discardInput();
            return;
        }
        if (memoryWait_) {
            noticeReset(); // nothing is read meanwhile, not even an RST
            return;
        }
        if (state_ != ConnState::Open || readPaused_ || yielded_)
            return;
        if (stopping_ && owedInput_ == 0)
            return; // what came after the stop is not answered
        if (budget == 0) {
            deferSelf(); // fairness: others get their turn first
            return;
        }
        std::size_t room = limits_.maxInput > in_.readable() ? limits_.maxInput - in_.readable()
                                                             : 0;
        if (stopping_)
            room = std::min(room, owedInput_);
        if (room == 0)
            return; // the service holds input back; it runs again when output drains
        std::size_t asked = 0;
        std::size_t got = 0;
        switch (readOnce(std::min(budget, room), asked, got)) {
        case IoResult::Progress:
            budget -= got;
            if (stopping_)
                owedInput_ -= std::min(owedInput_, got);
            // A short read emptied the socket: skip the recv() that would only say EAGAIN.
            // Unless the peer's FIN is queued, which raises no further edge.
            if (got < asked && !eofPending_)
                canRead_ = false;
            runService();
            break;
        case IoResult::WouldBlock:
            if (asked == 0)
                return; // no memory to read into: canRead_ stays, see memoryShort()
            canRead_ = false;
            break;
        case IoResult::Eof:
            canRead_ = false;
            eofSeen_ = true;
            setState(ConnState::PeerClosed);
            runService();
            break;
        case IoResult::Error:
            close(errno == ECONNRESET ? "reset by peer" : "receive error");
            return;
        }
    }
}

void Connection::runService() noexcept
{
    if (state_ != ConnState::Open && state_ != ConnState::PeerClosed)
        return;
    // The service sees its own buffer: the rest of the queue (chunks, ring) counts first.
    const std::size_t mark = outputMark();
    const std::size_t others = out_.cost() - out_.bytes().cost();
    const Verdict verdict =
            service_->onInput(in_, out_.bytes(), mark > others ? mark - others : 0, eofSeen_);
    if (account_.outOfMemory()) {
        close("out of memory"); // an answer could not be written
        return;
    }
    switch (verdict) {
    case Verdict::Finish:
        in_.clear(); // nothing after quit is answered
        setState(ConnState::Draining);
        return;
    case Verdict::Yield:
        yielded_ = true; // fairness: others get their turn first
        deferSelf();
        break;
    case Verdict::Continue:
        break;
    }
    if (out_.cost() >= mark)
        readPaused_ = true;
}

bool Connection::makeRoomFor(const Chunk &chunk) noexcept
{
    // The mark is for what the client does not take, not for what one loop turn queued.
    if (out_.cost() + out_.costToShare(chunk) > outputMark() && flush() == IoResult::Error)
        return false;
    return out_.cost() + out_.costToShare(chunk) <= outputMark();
}

bool Connection::share(Chunk &chunk) noexcept
{
    if (state_ == ConnState::Closed || shutDown_)
        return false;
    if (!out_.share(chunk)) {
        if (account_.outOfMemory())
            close("out of memory");
        return false;
    }
    // The high-water mark is for what the client does not take, not for what one loop turn
    // queued: past it, the socket gets what it can take first.
    const std::size_t mark = outputMark();
    if (out_.cost() >= mark && flush() == IoResult::Error)
        return true; // closed: the chunk went with the rest
    // Backpressure as for its own replies: a client that does not read is not read from.
    if (out_.cost() >= mark)
        readPaused_ = true;
    // Sent in the deferred part of this turn, with whatever else comes meanwhile: a burst of
    // messages costs one sendmsg() per client, not one per message.
    deferSelf();
    return true;
}

void Connection::watchDrain() noexcept
{
    drainWatch_ = true;
    deferSelf(); // in case the output is already down to the mark
}

IoResult Connection::flush() noexcept
{
    while (canWrite_ && !out_.empty()) {
        iovec iov[kMaxIov];
        std::size_t bytes = 0;
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = out_.gather(iov, kMaxIov, bytes);
        // One piece (always so in reply and echo modes): send() skips sendmsg()'s copy and
        // check of the iovec array in the kernel.
        const ssize_t n = msg.msg_iovlen == 1
                                  ? ::send(fd_.get(), iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL)
                                  : ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
        if (n >= 0) {
            const auto sent = static_cast<std::size_t>(n);
            bytesOut_ += sent;
            active();
            out_.consume(sent);
            if (sent < bytes)
                canWrite_ = false; // the socket buffer is full: wait for EPOLLOUT
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            canWrite_ = false;
            break;
        }
        close(errno == ECONNRESET || errno == EPIPE ? "reset by peer" : "send error");
        return IoResult::Error;
    }
    // Empty buffers go back to the pool: an idle connection holds no buffer memory, and the
    // next message takes a block from the pool, not from malloc().
    out_.release();
    in_.release();
    return IoResult::Progress;
}

void Connection::afterFlush() noexcept
{
    if (!out_.empty())
        return;
    if (state_ == ConnState::PeerClosed && in_.empty() && !yielded_) {
        close("closed by peer");
        return;
    }
    if (state_ != ConnState::Draining || shutDown_)
        return;
    if (eofSeen_) {
        close(stopping_ ? "server stopping" : "quit");
        return;
    }
    // Our FIN goes first; closing with unread input would send an RST, which can destroy the
    // replies still in flight. So wait for the peer's FIN, discarding what it sends.
    ::shutdown(fd_.get(), SHUT_WR);
    shutDown_ = true;
    service_->detach(); // nothing more can be sent
    lingerDeadline_ = loop_.now() + limits_.lingerMs;
    owner_.onLinger(*this);
    if (canRead_)
        discardInput();
}

void Connection::discardInput() noexcept
{
    std::size_t budget = limits_.ioBudget;
    char scratch[4096];
    while (canRead_ && budget > 0) {
        const ssize_t n = ::recv(fd_.get(), scratch, sizeof(scratch), 0);
        if (n > 0) {
            budget -= std::min(budget, static_cast<std::size_t>(n));
            bytesIn_ += static_cast<std::size_t>(n);
            active();
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            canRead_ = false;
            return;
        }
        if (n < 0) {
            close("reset by peer");
            return;
        }
        eofSeen_ = true;
        canRead_ = false;
        if (shutDown_)
            close(stopping_ ? "server stopping" : "quit");
        return;
    }
    if (canRead_)
        deferSelf();
}

void Connection::drain() noexcept
{
    if (state_ != ConnState::Open && state_ != ConnState::PeerClosed)
        return;
    // Messages that reached us before the stop are owed replies, those still in the kernel's
    // buffer too (no edge may come for them): read exactly that much more, answer it all, at
    // the pace the client reads its replies, then drain.
    int queued = 0;
    if (::ioctl(fd_.get(), FIONREAD, &queued) != 0 || queued < 0)
        queued = 0;
    stopping_ = true;
    owedInput_ = static_cast<std::size_t>(queued);
    canRead_ = canRead_ || owedInput_ > 0;
    handle();
}

void Connection::finishStop() noexcept
{
    if (!stopping_ || (state_ != ConnState::Open && state_ != ConnState::PeerClosed))
        return;
    // Input still to read, or messages held back until the client reads its replies.
    if (owedInput_ > 0 || readPaused_ || yielded_)
        return;
    in_.clear(); // the start of a message the client had not finished sending
    setState(ConnState::Draining);
}

void Connection::checkLinger(std::uint64_t now) noexcept
{
    if (state_ == ConnState::Draining && shutDown_ && now >= lingerDeadline_)
        close(stopping_ ? "server stopping" : "quit");
}

void Connection::abort(const char *reason) noexcept
{
    close(reason);
}

void Connection::close(const char *reason) noexcept
{
    if (state_ == ConnState::Closed)
        return;
    closeReason_ = reason;
    setState(ConnState::Closed);
    service_->detach(); // a broadcast sends it nothing more
    unlink(); // off the idle list
    fd_.reset(); // epoll forgets the fd with its last reference
    out_.clear(); // shared chunks go back as soon as nobody else needs them
    owner_.onClosed(*this);
}

} // namespace pisock
