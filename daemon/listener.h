#pragma once

#include <string>
#include <string_view>

#include "common/address.h"
#include "common/unique_fd.h"
#include "event_loop.h"
#include "refusal.h"

namespace pisock {

class Listener;

// Receives each accepted socket; decides whether to serve it.
class AcceptSink
{
public:
    virtual void onAccept(UniqueFd fd, const SocketAddress &peer, Listener &from) noexcept = 0;
    // Accepting on from failed (for the log): EMFILE once a client was refused for want of a
    // descriptor, or the errno that stopped accepting until Listener::retry().
    virtual void onAcceptError(Listener &from, int err) noexcept = 0;
    // What a client of from refused for want of a descriptor is told: a line, nothing (echo
    // mode), or an HTTP 503 (a ws listener).
    [[nodiscard]] virtual std::string_view busyLine(const Listener &from) const noexcept
    {
        (void)from;
        return kBusyLine;
    }

protected:
    virtual ~AcceptSink() = default;
};

// Opens a listening socket for an endpoint: non-blocking, CLOEXEC, SO_REUSEADDR, dual-stack
// for "[::]" unless dualStack is false, SO_REUSEPORT (TCP) with reusePort: then processes of
// the same user may bind the same port, and the kernel gives each new client to one of them.
// Throws std::system_error naming the address.
UniqueFd openListenSocket(const Endpoint &endpoint, bool dualStack = true, bool reusePort = false);
// The address a listening socket is bound to, as text ("127.0.0.1:41234", "unix:/path").
std::string boundAddress(int fd);

// The spare descriptor for running out of them (EMFILE, docs/CONVENTIONS.md): /dev/null held
// open, so that a listener can give it back, accept the client that keeps its socket readable,
// refuse it, and take the spare again. Owns that one descriptor; the server holds the only
// instance and its listeners borrow it.
class SpareFd
{
public:
    SpareFd() noexcept { take(); }
    // Gives the descriptor back to the process: the next accept() may succeed.
    void release() noexcept { fd_.reset(); }
    // Opens it again if it was released (and the process has one to spare now).
    void take() noexcept;

private:
    UniqueFd fd_;
};

// One listening socket: owns its fd; borrows the loop, the sink and the spare descriptor used
// when the process runs out of them.
class Listener final : public IoHandler
{
public:
    Listener(EventLoop &loop, UniqueFd fd, AcceptSink &sink, SpareFd &spare);
    ~Listener() override;

    // Registers with the loop; throws std::system_error on failure.
    void start();
    void onIo(std::uint32_t events) noexcept override;
    void onResume() noexcept override;
    // Accepts what may be queued without a new edge, if accepting stopped on an error (out
    // of descriptors even after using the reserve); otherwise costs nothing.
    void retry() noexcept
    {
        if (stalled_)
            acceptSome();
    }
    // Stops accepting and closes the socket (shutdown, or removed on reload).
    void close() noexcept;

    [[nodiscard]] const std::string &address() const noexcept { return address_; }
    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    // Delete a unix socket's file when this listener closes (it created the file).
    void setUnlinkOnClose(std::string path) { unlinkPath_ = std::move(path); }
    // Its clients start with a PROXY protocol header (",proxy"); what that means for them is
    // the sink's to decide.
    void setProxy(bool proxy) noexcept { proxy_ = proxy; }
    [[nodiscard]] bool proxy() const noexcept { return proxy_; }
    // Its clients speak WebSocket (a "ws:" address): the server puts that layer in front.
    void setWebSocket(bool webSocket) noexcept { webSocket_ = webSocket; }
    [[nodiscard]] bool webSocket() const noexcept { return webSocket_; }

private:
    void acceptSome() noexcept;
    bool shedOneConnection() noexcept;

    EventLoop &loop_;
    UniqueFd fd_;
    AcceptSink &sink_;
    SpareFd &spare_;
    std::string address_;
    std::string unlinkPath_;
    bool proxy_ = false;
    bool webSocket_ = false;
    bool stalled_ = false; // clients may be queued with no edge to come: retry() accepts
};

} // namespace pisock
