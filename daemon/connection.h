#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/address.h"
#include "common/buffer.h"
#include "common/memory_budget.h"
#include "common/unique_fd.h"
#include "common/units.h"
#include "event_loop.h"
#include "io_result.h"
#include "output_queue.h"
#include "timeouts.h"
#include "turn_budget.h"

namespace pisock {

enum class ConnState { Open, PeerClosed, Draining, Closed };

const char *stateName(ConnState state) noexcept;

// What a Service tells its connection after handling input.
enum class Verdict {
    Continue, // keep reading
    Finish, // quit/exit answered: send what is owed, then close
    Yield, // did its share of work for this loop turn: call again on the next one
};

// The output side of a connection as a Service may see it beyond the Buffer onInput() fills:
// for a service that sends to the outputs of other connections (broadcast). Implemented by
// Connection; knows nothing of protocols.
class Outlet
{
public:
    // What the output waiting to be sent really occupies (MemoryBudget::cost() bytes).
    [[nodiscard]] virtual std::size_t outputCost() const noexcept = 0;
    // Whether chunk may be queued without passing the output mark (--high-water or, near the
    // memory budget, this connection's share of it), once the socket took what it could.
    [[nodiscard]] virtual bool makeRoomFor(const Chunk &chunk) noexcept = 0;
    // Queues a reference to chunk after everything pending; it is sent in the deferred part of
    // this loop turn, with whatever else arrived meanwhile, in one sendmsg(). False if the
    // connection sends nothing more (closed, or its FIN is out) or memory is short.
    virtual bool share(Chunk &chunk) noexcept = 0;
    // Asks for one Service::onDrained() call once pending output is down to the low-water mark.
    virtual void watchDrain() noexcept = 0;
    // Closes the connection now, whatever is pending.
    virtual void abort(const char *reason) noexcept = 0;

protected:
    ~Outlet() = default;
};

// The protocol spoken over one connection; knows nothing of sockets or epoll.
class Service
{
public:
    virtual ~Service() = default;
    // Consumes what it can answer from in and appends the answers to out. It stops early,
    // leaving input in place, once out's storage costs outLimit bytes or more (Buffer::cost());
    // it is called again when out has drained. eof: no more input will come, in holds the
    // last bytes. An answer the heap has no room for is not written (the connection closes).
    virtual Verdict onInput(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept = 0;
    // Messages answered (broadcast: sent) so far.
    [[nodiscard]] virtual std::uint64_t messages() const noexcept = 0;
    // Messages meant for this client that it never got because it did not keep up.
    [[nodiscard]] virtual std::uint64_t dropped() const noexcept { return 0; }
    // The connection's outlet, valid until detach(); given once, before any input.
    virtual void attach(Outlet &) noexcept {}
    // The connection sends nothing more (its FIN is out, or it closed): the outlet is gone.
    // May come more than once.
    virtual void detach() noexcept {}
    // Pending output fell to the low-water mark after Outlet::watchDrain(); may append to out.
    virtual void onDrained(Buffer &) noexcept {}
};

// Limits shared by all connections; owned by the server, which may change them on reload.
// The marks count what the output really occupies (Outlet::outputCost()), not payload bytes.
struct ConnectionLimits {
    std::size_t maxInput = 64 * kKiB + 64 * kKiB; // buffered unanswered input: a message and a read
    std::size_t highWater = kMiB; // pending output that pauses reading
    std::size_t lowWater = 256 * kKiB; // pending output that resumes it
    std::size_t ioBudget = 64 * kKiB; // bytes read per wakeup before yielding
    unsigned lingerMs = 2000; // wait for the peer's FIN after ours
    MemoryBudget *memory = nullptr; // the daemon's budget, shared (none: unlimited)
    TurnBudget *turn = nullptr; // bytes read per loop turn by all, shared (none: no such cap)
};

class Connection;

// Told when a connection ends; owns the connection and must retire it.
class ConnectionOwner
{
public:
    virtual void onClosed(Connection &connection) noexcept = 0;
    // The connection sent its FIN and waits for the peer's until its linger deadline; the
    // owner calls checkLinger() after that.
    virtual void onLinger(Connection &connection) noexcept = 0;
    // The memory budget refused the connection a block to read into: it reads nothing more
    // until the owner calls memoryAvailable().
    virtual void onMemoryWait(Connection &connection) noexcept = 0;

protected:
    virtual ~ConnectionOwner() = default;
};

// One client: owns its socket, its input buffer, its output queue and its Service; borrows
// the loop, the limits, its owner and the idle list it is on. Bytes in, Service, bytes out
// (own replies and shared chunks, with sendmsg()), with backpressure and a lingering close
// (docs/CONVENTIONS.md). As an IdleList::Node it leaves the idle list when closed or destroyed.
// Its buffers and queue are charged to its own MemoryAccount in the daemon's budget: near the
// budget its output mark shrinks to its share, and a read the budget refuses waits for memory.
class Connection final : public IoHandler, public IdleList::Node, public Outlet
{
public:
    Connection(EventLoop &loop, UniqueFd fd, const SocketAddress &peer, std::uint64_t id,
               std::unique_ptr<Service> service, const ConnectionLimits &limits,
               ConnectionOwner &owner);
    ~Connection() override;

    // Puts the connection on list, moved to its back whenever bytes go in or out; before
    // start().
    void watchIdle(IdleList &list) noexcept;
    // Registers with the loop and handles what is already there; false if epoll refused.
    bool start() noexcept;
    void onIo(std::uint32_t events) noexcept override;
    // Server shutdown: answer every message that had reached us (read or still queued in the
    // kernel), send the replies, then close.
    void drain() noexcept;
    // Close now, whatever is pending.
    void abort(const char *reason) noexcept override;
    bool share(Chunk &chunk) noexcept override;
    [[nodiscard]] bool makeRoomFor(const Chunk &chunk) noexcept override;
    void watchDrain() noexcept override;
    // The memory budget has room again: a connection waiting for memory reads again.
    void memoryAvailable() noexcept;
    // Called by the owner's timer: close a draining connection whose peer never sent FIN.
    void checkLinger(std::uint64_t now) noexcept;

    [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
    [[nodiscard]] const std::string &peer() const noexcept { return peer_; }
    [[nodiscard]] ConnState state() const noexcept { return state_; }
    [[nodiscard]] std::uint64_t bytesIn() const noexcept { return bytesIn_; }
    [[nodiscard]] std::uint64_t bytesOut() const noexcept { return bytesOut_; }
    [[nodiscard]] std::uint64_t messages() const noexcept { return service_->messages(); }
    [[nodiscard]] std::uint64_t dropped() const noexcept { return service_->dropped(); }
    [[nodiscard]] std::uint64_t startedMs() const noexcept { return startedMs_; }
    [[nodiscard]] const char *closeReason() const noexcept { return closeReason_; }
    [[nodiscard]] bool readPaused() const noexcept { return readPaused_; }
    [[nodiscard]] std::size_t pendingOutput() const noexcept { return out_.size(); }
    [[nodiscard]] std::size_t outputCost() const noexcept override { return out_.cost(); }
    [[nodiscard]] std::size_t pendingInput() const noexcept { return in_.readable(); }
    // What its buffers and queue really occupy, input included.
    [[nodiscard]] std::size_t memoryHeld() const noexcept { return account_.held(); }
    [[nodiscard]] bool waitingForMemory() const noexcept { return memoryWait_; }
    // The heap refused it a block: why it closed.
    [[nodiscard]] bool outOfMemory() const noexcept { return account_.outOfMemory(); }
    [[nodiscard]] std::uint64_t lingerDeadline() const noexcept { return lingerDeadline_; }

private:
    void setState(ConnState next) noexcept;
    void handle() noexcept;
    void readInput() noexcept;
    void readUpTo(std::size_t &budget) noexcept;
    IoResult readOnce(std::size_t want, std::size_t &asked, std::size_t &got) noexcept;
    void runService() noexcept;
    [[nodiscard]] std::size_t outputMark() const noexcept;
    [[nodiscard]] bool outputDrained() const noexcept;
    void memoryShort() noexcept;
    void noticeReset() noexcept;
    IoResult flush() noexcept;
    void afterFlush() noexcept;
    bool afterDrain() noexcept;
    void discardInput() noexcept;
    void finishStop() noexcept;
    void close(const char *reason) noexcept;
    void deferSelf() noexcept;
    void active() noexcept;

    EventLoop &loop_;
    UniqueFd fd_;
    std::string peer_;
    std::uint64_t id_;
    std::unique_ptr<Service> service_;
    const ConnectionLimits &limits_;
    ConnectionOwner &owner_;
    IdleList *idle_ = nullptr;
    MemoryAccount account_; // before the buffers it counts
    Buffer in_;
    OutputQueue out_;
    ConnState state_ = ConnState::Open;
    bool canRead_ = false;
    bool canWrite_ = true; // a new socket has room; EAGAIN says when not
    bool readPaused_ = false; // backpressure: out_ passed the high-water mark
    bool deferred_ = false;
    bool yielded_ = false; // the service stopped for this turn with input left
    bool drainWatch_ = false; // the service waits for onDrained()
    bool eofPending_ = false; // EPOLLRDHUP seen: the peer's FIN is queued
    bool eofSeen_ = false;
    bool shutDown_ = false; // our FIN is sent
    bool memoryWait_ = false; // a read was refused by the memory budget
    std::size_t readHint_ = Buffer::kMinCapacity; // grows while reads fill their block
    bool stopping_ = false; // drain() was called: answer owedInput_ more bytes, then drain
    std::size_t owedInput_ = 0;
    std::uint64_t startedMs_;
    std::uint64_t lingerDeadline_ = 0;
    std::uint64_t bytesIn_ = 0;
    std::uint64_t bytesOut_ = 0;
    const char *closeReason_ = "";
};

} // namespace pisock
