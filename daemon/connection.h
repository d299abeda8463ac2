#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/address.h"
#include "common/buffer.h"
#include "common/memory_budget.h"
#include "common/unique_fd.h"
#include "common/units.h"
#include "event_loop.h"
#include "idle_list.h"
#include "io_result.h"
#include "output_queue.h"
#include "service.h"
#include "turn_budget.h"

namespace pisock {

// Where a connection is in its life; the transitions are drawn at the top of connection.cpp.
enum class ConnState {
    Open, // reading, answering, sending
    PeerClosed, // the peer's FIN read: answering what is left, then Closed
    Flushing, // ending (quit, or the server's stop): sending what is owed, our FIN not yet sent
    Lingering, // our FIN sent: discarding input until the peer's FIN or the linger deadline
    Closed,
};

const char *stateName(ConnState state) noexcept;

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
    // The connection went from `from` to connection.state() (for a debug log).
    virtual void onTransition(Connection &, ConnState /*from*/) noexcept {}

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
    // Registers with the loop, which then reports what is already there: 0, or -errno if epoll
    // refused (the owner then aborts it).
    int start() noexcept;
    void onIo(std::uint32_t events) noexcept override;
    void onResume() noexcept override;
    // The server's stop: answer every message that had reached us (read or still queued in the
    // kernel), send the replies and then line (none if empty), then close ("server stopping").
    // Once; later calls do nothing. line must outlive the connection (a constant).
    void stop(std::string_view line = {}) noexcept;
    // Closes it for a reason of the server's (idle timeout): what is owed and then line (none if
    // empty) are sent, then it closes as after quit, within the linger time whether the client
    // reads or not.
    void expire(const char *reason, std::string_view line) noexcept;
    // Close now, whatever is pending.
    void abort(const char *reason) noexcept override;
    bool share(Chunk &chunk) noexcept override;
    [[nodiscard]] bool makeRoomFor(const Chunk &chunk) noexcept override;
    void watchLowWater() noexcept override;
    [[nodiscard]] MemoryAccount *account() noexcept override { return &account_; }
    // The memory budget has room again: a connection waiting for memory reads again.
    void memoryAvailable() noexcept;
    // Called by the owner's timer: close a lingering connection whose peer never sent FIN.
    void checkLinger(std::uint64_t now) noexcept;

    [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
    [[nodiscard]] const std::string &peer() const noexcept { return peer_; }
    // Names the client anew: the one a proxy's header names, once the owner accepted it.
    void setPeer(std::string peer) noexcept { peer_ = std::move(peer); }
    [[nodiscard]] ConnState state() const noexcept { return state_; }
    [[nodiscard]] std::uint64_t bytesIn() const noexcept { return bytesIn_; }
    [[nodiscard]] std::uint64_t bytesOut() const noexcept { return bytesOut_; }
    [[nodiscard]] std::uint64_t messages() const noexcept { return service_->messages(); }
    [[nodiscard]] std::uint64_t dropped() const noexcept { return service_->dropped(); }
    [[nodiscard]] std::string_view roomName() const noexcept { return service_->roomName(); }
    [[nodiscard]] std::uint64_t startedMs() const noexcept { return startedMs_; }
    [[nodiscard]] const char *closeReason() const noexcept { return closeReason_; }
    [[nodiscard]] bool readPaused() const noexcept { return readPaused_; }
    [[nodiscard]] std::size_t pendingOutput() const noexcept { return out_.size(); }
    [[nodiscard]] std::size_t outputCost() const noexcept override { return out_.cost(); }
    [[nodiscard]] std::size_t pendingInput() const noexcept { return in_.readable(); }
    [[nodiscard]] bool waitingForMemory() const noexcept { return readable_ == Readable::NoMemory; }
    // The heap refused it a block: why it closed.
    [[nodiscard]] bool outOfMemory() const noexcept { return account_.outOfMemory(); }
    [[nodiscard]] std::uint64_t lingerDeadline() const noexcept { return lingerDeadline_; }

private:
    // The peer's FIN: not seen, announced by EPOLLRDHUP (queued behind unread input), read.
    enum class PeerFin { No, Pending, Seen };
    // Whether the socket may hold input: EAGAIN not seen since the last edge. NoMemory: it may,
    // but the memory budget refused a block to read into; the owner calls memoryAvailable().
    enum class Readable { No, Yes, NoMemory };
    // What runs the I/O path: an epoll event (or stop()), or the loop's deferred list.
    enum class Wake { Event, Resume };

    void setState(ConnState next) noexcept;
    // Why quit, the server's stop or expire() closed it: "quit", "server stopping", the reason.
    [[nodiscard]] const char *finishReason() const noexcept;
    void handle(Wake wake) noexcept;
    // Closes if why is set; true if the connection is still open.
    bool survive(const char *why) noexcept;
    // The parts of the I/O path: each returns why the connection must close, nullptr if not.
    [[nodiscard]] const char *step(Wake wake) noexcept;
    [[nodiscard]] const char *readInput(Wake wake) noexcept;
    // starved: the turn gave this wakeup nothing (first among the heavy ones next turn).
    [[nodiscard]] const char *readUpTo(std::size_t &budget, bool starved) noexcept;
    IoResult readOnce(std::size_t want, std::size_t &asked, std::size_t &got) noexcept;
    [[nodiscard]] const char *runService() noexcept;
    [[nodiscard]] const char *memoryShort() noexcept;
    [[nodiscard]] const char *noticeReset() const noexcept;
    [[nodiscard]] const char *flush() noexcept;
    [[nodiscard]] const char *afterLowWater() noexcept;
    [[nodiscard]] const char *afterFlush() noexcept;
    [[nodiscard]] const char *discardInput() noexcept;
    [[nodiscard]] std::size_t outputMark() const noexcept;
    [[nodiscard]] bool belowLowWater() const noexcept;
    // After stop(), once everything owed is answered: Flushing. True if it just got there.
    bool finishStop() noexcept;
    void close(const char *reason) noexcept;
    void active() noexcept;

    EventLoop &loop_;
    UniqueFd fd_;
    std::string peer_;
    std::uint64_t id_;
    MemoryAccount account_; // before the service and the buffers it counts
    std::unique_ptr<Service> service_;
    const ConnectionLimits &limits_;
    ConnectionOwner &owner_;
    IdleList *idle_ = nullptr;
    Buffer in_;
    OutputQueue out_;
    ConnState state_ = ConnState::Open;
    PeerFin peerFin_ = PeerFin::No;
    bool stopping_ = false; // stop() was called: answer owedInput_ more bytes, then Flushing
    std::string_view stopLine_; // sent after the replies owed at a stop
    const char *finish_ = "quit"; // finishReason()
    std::size_t owedInput_ = 0;
    // Readiness and backpressure.
    Readable readable_ = Readable::No;
    bool canWrite_ = true; // a new socket has room; EAGAIN says when not
    bool readPaused_ = false; // out_ passed the output mark
    bool yielded_ = false; // the service stopped for this turn with input left
    bool heavy_ = false; // cut short by the turn budget, socket not emptied since
    bool lowWaterWatch_ = false; // the service waits for onLowWater()
    std::size_t readHint_ = Buffer::kMinCapacity; // grows while reads fill their block
    std::uint64_t startedMs_;
    std::uint64_t lingerDeadline_ = 0;
    std::uint64_t bytesIn_ = 0;
    std::uint64_t bytesOut_ = 0;
    const char *closeReason_ = "";
};

} // namespace pisock
