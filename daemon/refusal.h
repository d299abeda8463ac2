#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string_view>

#include "common/unique_fd.h"
#include "event_loop.h"

namespace pisock {

// The lines a client gets before the server closes it for a reason the client did not ask
// for (pisockd(8), "Reason lines"); the idle timeout's names its seconds ("error: idle
// timeout (300 s)\n"). Echo mode sends none: the server passes an empty line there.
inline constexpr std::string_view kBusyLine = "error: server busy\n";
inline constexpr std::string_view kNotAllowedLine = "error: not allowed\n";
inline constexpr std::string_view kStoppingLine = "error: server stopping\n";

// For when no descriptor can be spared: sends line (if any), half-closes, discards what the peer has
// already sent (so that close() finds no unread input and sends FIN, not RST), and leaves the
// close to the caller. Input arriving later still meets an RST.
void refuseNow(int fd, std::string_view line) noexcept;

// Clients refused with a line (server busy, not allowed; none in echo mode) and kept until their FIN, so that their unread
// input does not turn our close into an RST that destroys the line (the lingering close of
// docs/CONVENTIONS.md). Owns those sockets, at most kMaxOpen at once (refuseNow() past that);
// borrows the loop.
class RefusalQueue
{
public:
    static constexpr std::size_t kMaxOpen = 256;

    RefusalQueue(EventLoop &loop, unsigned lingerMs);
    ~RefusalQueue();
    RefusalQueue(const RefusalQueue &) = delete;
    RefusalQueue &operator=(const RefusalQueue &) = delete;

    void refuse(UniqueFd fd, std::string_view line) noexcept;
    // Closes the refused sockets whose peer has not closed by their deadline.
    void expire(std::uint64_t now) noexcept;
    // Sockets still held.
    [[nodiscard]] std::size_t open() const noexcept { return pending_.size(); }

private:
    class Pending;
    void finished(Pending &pending) noexcept;

    EventLoop &loop_;
    unsigned lingerMs_;
    std::list<std::unique_ptr<Pending>> pending_; // in deadline order
};

} // namespace pisock
