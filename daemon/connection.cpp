#include "connection.h"

#include <algorithm>
#include <cerrno>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "common/errors.h"
#include "common/units.h"

// The life of a connection: one state (ConnState), changed only by setState().
//
//   state       on                                                 next
//   ----------  -------------------------------------------------  --------------------------
//   Open        recv() returns 0: the peer's FIN                   PeerClosed
//   Open,       Verdict::Finish (quit, exit), or, after stop(),    Flushing
//   PeerClosed  every owed message answered
//   PeerClosed  output sent, input answered                        Closed "closed by peer"
//   Flushing    output sent, the peer's FIN already read           Closed finishReason()
//   Flushing    output sent: shutdown(SHUT_WR) sends our FIN       Lingering
//   Lingering   the peer's FIN, or checkLinger() past the deadline Closed finishReason()
//   Open,       expire() (idle timeout): its line queued           Flushing, linger deadline set
//   PeerClosed
//   any         recv()/send() error, reset, out of memory, abort() Closed (that reason)
//
//   Open ---FIN read---> PeerClosed ---all answered and sent------------> Closed
//    |                       |                                            ^ ^ ^
//    +----quit, stop---------+----> Flushing ---sent, their FIN read------+ | |
//                                      | sent: our FIN                      | |
//                                      v                                    | |
//                                   Lingering ---their FIN, deadline--------+ |
//   any state ---error, reset, out of memory, abort()-------------------------+
//
// Beside the state, and orthogonal to it: peerFin_ (No, Pending: EPOLLRDHUP seen, Seen: recv()
// returned 0), stopping_ (set once by stop(): what is owed is answered, then finishReason() is
// "server stopping"), and six readiness and backpressure fields: readable_ (No, Yes, NoMemory:
// readable but the memory budget refused a block, until memoryAvailable()), canWrite_,
// readPaused_, yielded_, lowWaterWatch_ and heavy_ (the turn budget cut its read short and it
// has not emptied its socket since: it reads only in the loop's deferred rotation).
//
// The I/O path (onIo(), onResume(), stop()) runs step(), whose parts return why the connection
// must close (nullptr: it stays); survive() closes on that one exit. close() is reached only
// from survive() and abort().

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
    case ConnState::Flushing:
        return "Flushing";
    case ConnState::Lingering:
        return "Lingering";
    case ConnState::Closed:
        return "Closed";
    }
    return "?";
}

Connection::Connection(EventLoop &loop, UniqueFd fd, const SocketAddress &peer, std::uint64_t id,
                       std::unique_ptr<Service> service, const ConnectionLimits &limits,
                       ConnectionOwner &owner)
    : loop_(loop), fd_(std::move(fd)), peer_(formatPeer(peer)), id_(id), account_(limits.memory),
      service_(std::move(service)), limits_(limits), owner_(owner),
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

int Connection::start() noexcept
{
    service_->attach(*this);
    // EPOLL_CTL_ADD reports readiness that is already there, so no first read is needed.
    return loop_.add(fd_.get(), *this);
}

void Connection::setState(ConnState next) noexcept
{
    const ConnState from = state_;
    state_ = next;
    owner_.onTransition(*this, from);
}

const char *Connection::finishReason() const noexcept
{
    return finish_;
}

void Connection::onIo(std::uint32_t events) noexcept
{
    if (state_ == ConnState::Closed)
        return;
    if ((events & (EPOLLIN | EPOLLRDHUP)) && readable_ == Readable::No)
        readable_ = Readable::Yes;
    if ((events & EPOLLRDHUP) && peerFin_ == PeerFin::No)
        peerFin_ = PeerFin::Pending;
    if (events & EPOLLOUT)
        canWrite_ = true;
    handle(Wake::Event);
}

void Connection::onResume() noexcept
{
    if (state_ != ConnState::Closed)
        handle(Wake::Resume);
}

void Connection::handle(Wake wake) noexcept
{
    survive(step(wake));
}

bool Connection::survive(const char *why) noexcept
{
    if (why == nullptr)
        return state_ != ConnState::Closed;
    close(why);
    return false;
}

const char *Connection::step(Wake wake) noexcept
{
    if (yielded_) {
        yielded_ = false;
        if (const char *why = runService()) // input the service left for this turn
            return why;
    }
    if (const char *why = readInput(wake))
        return why;
    if (state_ == ConnState::Closed)
        return nullptr; // closed by its owner meanwhile
    if (const char *why = flush())
        return why;
    if (belowLowWater())
        if (const char *why = afterLowWater())
            return why;
    if (finishStop()) // its line and the service's last word, if any, are still to send
        if (const char *why = flush())
            return why;
    return afterFlush();
}

// Output is down to the low-water mark: tell the service if it asked, read again if paused.
const char *Connection::afterLowWater() noexcept
{
    if (lowWaterWatch_) {
        lowWaterWatch_ = false;
        if (state_ != ConnState::Lingering) {
            service_->onLowWater(out_.bytes());
            if (const char *why = flush())
                return why;
        }
    }
    if (readPaused_ && belowLowWater()) {
        readPaused_ = false;
        if (const char *why = runService()) // input left over from before the pause
            return why;
        if (const char *why = flush())
            return why;
        // ET: data that queued in the kernel meanwhile raises no new edge.
        if (readable_ != Readable::No || !in_.empty())
            loop_.defer(*this);
    }
    return nullptr;
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
bool Connection::belowLowWater() const noexcept
{
    return out_.empty() || out_.cost() <= std::min(limits_.lowWater, outputMark() / 2);
}

// The budget refused a block to read into, or the heap had none.
const char *Connection::memoryShort() noexcept
{
    if (account_.outOfMemory())
        return "out of memory";
    if (readable_ != Readable::NoMemory) {
        readable_ = Readable::NoMemory;
        owner_.onMemoryWait(*this); // reads again on memoryAvailable()
    }
    return nullptr;
}

// Waiting for memory with the peer gone: closes now if it was a reset, whose error the recv()
// we cannot make would have reported.
const char *Connection::noticeReset() const noexcept
{
    if (peerFin_ == PeerFin::No)
        return nullptr;
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0)
        return "reset by peer";
    return nullptr;
}

void Connection::memoryAvailable() noexcept
{
    if (readable_ == Readable::NoMemory) {
        readable_ = Readable::Yes;
        loop_.defer(*this); // ET: what waits in the kernel raises no new edge
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
    if (asked == 0)
        return IoResult::WouldBlock; // the caller asks memoryShort()
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

const char *Connection::readInput(Wake wake) noexcept
{
    // A heavy connection is readable already: a new edge tells it nothing. It reads in its
    // place in the deferred rotation, so that the turn's bytes go round all the heavy ones.
    if (heavy_ && wake == Wake::Event) {
        loop_.deferHeavy(*this, EventLoop::Turn::Served);
        return nullptr;
    }
    // Near the memory budget the heavy ones wait (for the tick that retries memory waiters):
    // what is left of the budget goes to the clients that keep up.
    if (heavy_ && readable_ == Readable::Yes && account_.budget() && account_.budget()->pressure())
        return memoryShort();
    // This wakeup's bytes: from what all connections may read this loop turn, if limited.
    TurnBudget *turn = limits_.turn;
    std::size_t budget =
            turn ? turn->take(loop_.turn(), limits_.ioBudget,
                              heavy_ ? TurnBudget::Wakeup::Heavy : TurnBudget::Wakeup::Light)
                 : limits_.ioBudget;
    const char *why = readUpTo(budget, budget == 0);
    if (turn)
        turn->giveBack(budget);
    if (readable_ == Readable::No)
        heavy_ = false; // caught up with its peer
    return why;
}

const char *Connection::readUpTo(std::size_t &budget, bool starved) noexcept
{
    while (readable_ != Readable::No) {
        if (state_ == ConnState::Flushing || state_ == ConnState::Lingering)
            return discardInput();
        if (readable_ == Readable::NoMemory)
            return noticeReset(); // nothing is read meanwhile, not even an RST
        if (state_ != ConnState::Open || readPaused_ || yielded_)
            return nullptr;
        if (stopping_ && owedInput_ == 0)
            return nullptr; // what came after the stop is not answered
        if (budget == 0) {
            // Fairness: others get their turn first. Cut short, it is heavy from now on: it
            // reads after the light work of the next turn, first among the heavy ones if it
            // was given nothing at all this turn.
            heavy_ = true;
            loop_.deferHeavy(*this, starved ? EventLoop::Turn::Waited : EventLoop::Turn::Served);
            return nullptr;
        }
        std::size_t room = limits_.maxInput > in_.readable() ? limits_.maxInput - in_.readable()
                                                             : 0;
        if (stopping_)
            room = std::min(room, owedInput_);
        if (room == 0)
            return nullptr; // the service holds input back; it runs again at the low-water mark
        std::size_t asked = 0;
        std::size_t got = 0;
        const char *why = nullptr;
        switch (readOnce(std::min(budget, room), asked, got)) {
        case IoResult::Progress:
            budget -= got;
            if (stopping_)
                owedInput_ -= std::min(owedInput_, got);
            // A short read emptied the socket: skip the recv() that would only say EAGAIN.
            // Unless the peer's FIN is queued, which raises no further edge.
            if (got < asked && peerFin_ == PeerFin::No)
                readable_ = Readable::No;
            why = runService();
            break;
        case IoResult::WouldBlock:
            if (asked == 0)
                return memoryShort(); // nothing to read into: still readable
            readable_ = Readable::No;
            break;
        case IoResult::Eof:
            readable_ = Readable::No;
            peerFin_ = PeerFin::Seen;
            setState(ConnState::PeerClosed);
            why = runService();
            break;
        case IoResult::Error:
            return errno == ECONNRESET ? "reset by peer" : "receive error";
        }
        if (why)
            return why;
    }
    return nullptr;
}

const char *Connection::runService() noexcept
{
    if (state_ != ConnState::Open && state_ != ConnState::PeerClosed)
        return nullptr;
    // The service sees its own buffer: the rest of the queue (chunks, ring) counts first.
    const std::size_t mark = outputMark();
    const std::size_t others = out_.cost() - out_.bytes().cost();
    const Verdict verdict = service_->onInput(in_, out_.bytes(), mark > others ? mark - others : 0,
                                              peerFin_ == PeerFin::Seen);
    if (account_.outOfMemory())
        return "out of memory"; // an answer could not be written
    switch (verdict) {
    case Verdict::Finish:
        in_.clear(); // nothing after quit is answered
        setState(ConnState::Flushing);
        return nullptr;
    case Verdict::Yield:
        yielded_ = true; // fairness: others get their turn first
        loop_.defer(*this);
        break;
    case Verdict::Continue:
        break;
    }
    if (out_.cost() >= mark)
        readPaused_ = true;
    return nullptr;
}

bool Connection::makeRoomFor(const Chunk &chunk) noexcept
{
    // The mark is for what the client does not take, not for what one loop turn queued.
    if (out_.cost() + out_.costToShare(chunk) > outputMark() && !survive(flush()))
        return false;
    return out_.cost() + out_.costToShare(chunk) <= outputMark();
}

bool Connection::share(Chunk &chunk) noexcept
{
    if (state_ == ConnState::Closed || state_ == ConnState::Lingering)
        return false;
    if (!out_.share(chunk)) {
        survive(account_.outOfMemory() ? "out of memory" : nullptr);
        return false;
    }
    // The high-water mark is for what the client does not take, not for what one loop turn
    // queued: past it, the socket gets what it can take first.
    const std::size_t mark = outputMark();
    if (out_.cost() >= mark && !survive(flush()))
        return true; // closed: the chunk went with the rest
    // Backpressure as for its own replies: a client that does not read is not read from.
    if (out_.cost() >= mark)
        readPaused_ = true;
    // Sent in the deferred part of this turn, with whatever else comes meanwhile: a burst of
    // messages costs one sendmsg() per client, not one per message.
    loop_.defer(*this);
    return true;
}

void Connection::watchLowWater() noexcept
{
    lowWaterWatch_ = true;
    loop_.defer(*this); // in case the output is already down to the mark
}

const char *Connection::flush() noexcept
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
        return errno == ECONNRESET || errno == EPIPE ? "reset by peer" : "send error";
    }
    // Empty buffers go back to the pool: an idle connection holds no buffer memory, and the
    // next message takes a block from the pool, not from malloc().
    out_.release();
    in_.release();
    return nullptr;
}

const char *Connection::afterFlush() noexcept
{
    if (!out_.empty())
        return nullptr;
    if (state_ == ConnState::PeerClosed && in_.empty() && !yielded_)
        return "closed by peer";
    if (state_ != ConnState::Flushing)
        return nullptr;
    if (peerFin_ == PeerFin::Seen)
        return finishReason();
    // Our FIN goes first; closing with unread input would send an RST, which can destroy the
    // replies still in flight. So wait for the peer's FIN, discarding what it sends.
    ::shutdown(fd_.get(), SHUT_WR);
    setState(ConnState::Lingering);
    service_->detach(); // nothing more can be sent
    lingerDeadline_ = loop_.now() + limits_.lingerMs;
    owner_.onLinger(*this);
    return readable_ != Readable::No ? discardInput() : nullptr;
}

const char *Connection::discardInput() noexcept
{
    std::size_t budget = limits_.ioBudget;
    char scratch[4096];
    while (readable_ != Readable::No && budget > 0) {
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
            readable_ = Readable::No;
            return nullptr;
        }
        if (n < 0)
            return "reset by peer";
        peerFin_ = PeerFin::Seen;
        readable_ = Readable::No;
        return state_ == ConnState::Lingering ? finishReason() : nullptr;
    }
    if (readable_ != Readable::No)
        loop_.defer(*this);
    return nullptr;
}

void Connection::stop(std::string_view line) noexcept
{
    if (stopping_ || (state_ != ConnState::Open && state_ != ConnState::PeerClosed))
        return;
    finish_ = "server stopping";
    stopLine_ = line;
    // Messages that reached us before the stop are owed replies, those still in the kernel's
    // buffer too (no edge may come for them): read exactly that much more, answer it all, at
    // the pace the client reads its replies, then flush and close.
    int queued = 0;
    if (::ioctl(fd_.get(), FIONREAD, &queued) != 0 || queued < 0)
        queued = 0;
    stopping_ = true;
    owedInput_ = static_cast<std::size_t>(queued);
    if (owedInput_ > 0 && readable_ == Readable::No)
        readable_ = Readable::Yes;
    handle(Wake::Event);
}

bool Connection::finishStop() noexcept
{
    if (!stopping_ || (state_ != ConnState::Open && state_ != ConnState::PeerClosed))
        return false;
    // Input still to read, or messages held back until the client reads its replies.
    if (owedInput_ > 0 || readPaused_ || yielded_)
        return false;
    in_.clear(); // the start of a message the client had not finished sending
    service_->onStop(out_.bytes(), stopLine_); // out of memory: closes without it
    setState(ConnState::Flushing);
    return true;
}

void Connection::expire(const char *reason, std::string_view line) noexcept
{
    if (state_ != ConnState::Open && state_ != ConnState::PeerClosed) {
        abort(reason);
        return;
    }
    finish_ = reason;
    in_.clear(); // nothing more is answered
    if (!line.empty())
        service_->notice(out_.bytes(), line);
    setState(ConnState::Flushing);
    // A client that does not read would hold it in Flushing: the linger deadline covers both.
    lingerDeadline_ = loop_.now() + limits_.lingerMs;
    owner_.onLinger(*this);
    handle(Wake::Event);
}

void Connection::checkLinger(std::uint64_t now) noexcept
{
    // Flushing has a deadline only after expire().
    const bool waiting = state_ == ConnState::Lingering ||
                         (state_ == ConnState::Flushing && lingerDeadline_ != 0);
    if (waiting && now >= lingerDeadline_)
        abort(finishReason());
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
