#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/buffer.h"

// The protocol side of a connection: what a Service is told and may do. Nothing here knows of
// sockets, epoll or the connection's states; the connection (daemon/connection.h) implements
// Outlet and drives a Service. Stages between the socket and a service (a header to read first,
// a framing layer) are Services wrapping a Service: docs/ARCHITECTURE.md.

namespace pisock {

class Chunk;

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
    // Asks for one Service::onLowWater() call once pending output is down to the low-water mark.
    virtual void watchLowWater() noexcept = 0;
    // Closes the connection now, whatever is pending.
    virtual void abort(const char *reason) noexcept = 0;
    // Where what a Service holds for the connection between calls is charged (a fragmented
    // WebSocket message): the connection's part of the memory budget; none: not counted.
    [[nodiscard]] virtual MemoryAccount *account() noexcept { return nullptr; }

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
    // it is called again when out is down to the low-water mark. eof: no more input will come, in holds the
    // last bytes. An answer the heap has no room for is not written (the connection closes).
    virtual Verdict onInput(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept = 0;
    // Messages answered (broadcast: sent) so far.
    [[nodiscard]] virtual std::uint64_t messages() const noexcept = 0;
    // Messages meant for this client that it never got because it did not keep up.
    [[nodiscard]] virtual std::uint64_t dropped() const noexcept { return 0; }
    // What broadcast lines call this client ("kitchen", "192.0.2.7:5000"); empty outside a
    // broadcast room.
    [[nodiscard]] virtual std::string_view roomName() const noexcept { return {}; }
    // The connection's outlet, valid until detach(); given once, before any input.
    virtual void attach(Outlet &) noexcept {}
    // The connection sends nothing more (its FIN is out, or it closed): the outlet is gone.
    // May come more than once.
    virtual void detach() noexcept {}
    // Pending output fell to the low-water mark after Outlet::watchLowWater(); may append to out.
    virtual void onLowWater(Buffer &) noexcept {}
    // The server is about to close the connection for a reason the client did not ask for
    // (idle timeout): writes line, the reason, after everything owed. A stage that frames what
    // it sends wraps it as it wraps its replies; one that passes the stream on passes this on.
    virtual void notice(Buffer &out, std::string_view line) noexcept { out.append(line); }
    // The server is stopping: every message owed has been answered, the connection now sends
    // what is pending and closes. Writes line ("error: server stopping", empty in echo mode) as
    // notice() does, and whatever last word the protocol has (WebSocket: a Close 1001).
    virtual void onStop(Buffer &out, std::string_view line) noexcept
    {
        if (!line.empty())
            notice(out, line);
    }
};

} // namespace pisock
