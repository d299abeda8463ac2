#include "control.h"

#include <cerrno>
#include <sys/socket.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

#include "common/address.h"
#include "common/errors.h"
#include "listener.h"
#include "log.h"
#include "refusal.h"

namespace pisock {

// One asker: reads its command line, sends the answer, half-closes, and is done once the
// answer is out (or at its deadline). Owns its socket; borrows the control socket.
class ControlSocket::Client final : public IoHandler
{
public:
    // busy: told kControlBusyLine once its command is read (reading it first keeps our close
    // from becoming an RST that destroys the line).
    Client(ControlSocket &owner, UniqueFd fd, std::uint64_t deadline, bool busy)
        : owner_(owner), fd_(std::move(fd)), deadline_(deadline), busy_(busy)
    {
    }

    void onIo(std::uint32_t) noexcept override { step(); }
    void onResume() noexcept override { step(); }

    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    [[nodiscard]] std::uint64_t deadline() const noexcept { return deadline_; }
    [[nodiscard]] bool busy() const noexcept { return busy_; }
    void close() noexcept { fd_.reset(); }
    std::list<std::unique_ptr<Client>>::iterator self;

private:
    void step() noexcept
    {
        if (!fd_)
            return;
        if (!answered_ && !readCommand())
            return;
        if (answered_ && send())
            owner_.finished(*this);
    }

    // False while the command line is not complete (or the client is gone).
    bool readCommand() noexcept
    {
        char chunk[kMaxCommand + 1];
        for (;;) {
            const ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), MSG_DONTWAIT);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                return false;
            if (n <= 0) {
                owner_.finished(*this); // gone before asking
                return false;
            }
            command_.append(chunk, static_cast<std::size_t>(n));
            if (const auto eol = command_.find('\n'); eol != std::string::npos) {
                command_.resize(eol);
                if (!command_.empty() && command_.back() == '\r')
                    command_.pop_back();
                answer(owner_.responder_);
                return true;
            }
            if (command_.size() > kMaxCommand) {
                answer_ = "error: command too long\n";
                answered_ = true;
                return true;
            }
        }
    }

    void answer(const Responder &responder) noexcept
    {
        answered_ = true;
        try {
            answer_ = busy_ ? std::string(kControlBusyLine) : responder(command_);
        } catch (const std::bad_alloc &) {
            answer_ = "error: out of memory\n";
        }
    }

    // True once everything is sent (or cannot be).
    bool send() noexcept
    {
        while (sent_ < answer_.size()) {
            const ssize_t n = ::send(fd_.get(), answer_.data() + sent_, answer_.size() - sent_,
                                     MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                return false; // ET: the next EPOLLOUT edge comes back here
            if (n < 0)
                return true;
            sent_ += static_cast<std::size_t>(n);
        }
        ::shutdown(fd_.get(), SHUT_WR);
        return true;
    }

    ControlSocket &owner_;
    UniqueFd fd_;
    std::uint64_t deadline_;
    std::string command_;
    std::string answer_;
    std::size_t sent_ = 0;
    bool busy_;
    bool answered_ = false;
};

ControlSocket::ControlSocket(EventLoop &loop, Responder responder)
    : loop_(loop), responder_(std::move(responder))
{
}

ControlSocket::~ControlSocket()
{
    if (fd_ && !path_.empty())
        ::unlink(path_.c_str());
}

void ControlSocket::open(const std::string &path)
{
    std::string error;
    const auto endpoint = parseEndpoint("unix:" + path, error);
    if (!endpoint || path.empty() || path[0] != '/')
        throw std::system_error(EINVAL, std::system_category(),
                                "control socket " + path + ": not an absolute path");
    UniqueFd fd = openListenSocket(*endpoint);
    // Bound under the umask (0077 in the unit): now open it to the group, no one else.
    if (::chmod(path.c_str(), 0660) != 0) {
        const int err = errno;
        ::unlink(path.c_str());
        throw std::system_error(err, std::system_category(), "chmod " + path);
    }
    if (const int err = loop_.add(fd.get(), *this, EPOLLIN); err < 0) {
        ::unlink(path.c_str());
        throw std::system_error(-err, std::system_category(), "epoll_ctl(" + path + ")");
    }
    fd_ = std::move(fd);
    path_ = path;
}

void ControlSocket::onIo(std::uint32_t) noexcept
{
    acceptSome();
}

void ControlSocket::onResume() noexcept
{
    acceptSome();
}

void ControlSocket::acceptSome() noexcept
{
    for (int i = 0; i < 16; ++i) {
        UniqueFd fd(::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN)
                log::warning("accept on control socket {}: {}", path_, errnoText(errno));
            return; // EAGAIN; or out of descriptors: the clients come first, askers wait
        }
        // Past kMaxClients askers are told to come back; past twice that, at once.
        if (clients_.size() >= 2 * kMaxClients) {
            refuseNow(fd.get(), kControlBusyLine);
            continue;
        }
        try {
            const bool busy = serving_ >= kMaxClients;
            auto client =
                    std::make_unique<Client>(*this, std::move(fd), loop_.now() + kTimeoutMs, busy);
            serving_ += busy ? 0 : 1;
            Client &ref = *client;
            ref.self = clients_.insert(clients_.end(), std::move(client));
            if (loop_.add(ref.fd(), ref) < 0)
                finished(ref);
        } catch (const std::bad_alloc &) {
            // fd is closed on the way out
        }
    }
    loop_.defer(*this); // ET: more may be queued, after the others' turn
}

void ControlSocket::finished(Client &client) noexcept
{
    client.close();
    serving_ -= client.busy() ? 0 : 1;
    auto owned = std::move(*client.self);
    clients_.erase(client.self);
    loop_.retire(std::move(owned)); // an event of this batch may still name it
}

void ControlSocket::expire(std::uint64_t now) noexcept
{
    while (!clients_.empty() && clients_.front()->deadline() <= now)
        finished(*clients_.front());
}

} // namespace pisock
