#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>

#include "common/unique_fd.h"
#include "event_loop.h"

namespace pisock {

inline constexpr std::string_view kControlBusyLine = "error: busy, try again\n";

// The control socket: a unix stream socket where `pisockd --stats` asks for the live stats.
// A client sends one command line ("stats", "stats json"), gets the answer, and the socket is
// closed. Served by the daemon's loop, never blocking it: every socket is non-blocking, an
// answer that does not fit the socket buffer waits for the next edge. Bounded: at most
// kMaxClients answered at once (as many more get kControlBusyLine; past that they are closed),
// a command of at most kMaxCommand bytes, and kTimeoutMs for the whole exchange. Who may ask is the socket file's business: mode 0660, the
// daemon's user and group. Owns the listening socket, its file and the clients; borrows the
// loop.
class ControlSocket final : public IoHandler
{
public:
    static constexpr std::size_t kMaxClients = 4;
    static constexpr std::size_t kMaxCommand = 64;
    static constexpr std::uint64_t kTimeoutMs = 5000;

    // The answer to one command line (without its newline); may throw std::bad_alloc.
    using Responder = std::function<std::string(std::string_view command)>;

    ControlSocket(EventLoop &loop, Responder responder);
    ~ControlSocket() override;
    ControlSocket(const ControlSocket &) = delete;
    ControlSocket &operator=(const ControlSocket &) = delete;

    // Listens at path, mode 0660, replacing a socket file nobody listens on (as listeners do);
    // throws std::system_error naming the path.
    void open(const std::string &path);
    void onIo(std::uint32_t events) noexcept override;
    void onResume() noexcept override;
    // Closes the clients past their deadline; called by the server's ticker.
    void expire(std::uint64_t now) noexcept;
    [[nodiscard]] const std::string &path() const noexcept { return path_; }

private:
    class Client;
    void acceptSome() noexcept;
    void finished(Client &client) noexcept;

    EventLoop &loop_;
    Responder responder_;
    UniqueFd fd_;
    std::string path_;
    std::list<std::unique_ptr<Client>> clients_; // in deadline order
    std::size_t serving_ = 0; // clients_ that are not told to come back
};

} // namespace pisock
