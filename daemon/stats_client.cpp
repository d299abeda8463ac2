#include "stats_client.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <poll.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/unique_fd.h"
#include "control.h"
#include "exit_code.h"

namespace pisock {

namespace {

// The daemon answers from its loop at once; this is for a daemon that is stuck.
constexpr auto kTimeout = std::chrono::milliseconds(ControlSocket::kTimeoutMs);

int fail(int status, const std::string &why)
{
    std::fprintf(stderr, "pisockd: %s\n", why.c_str());
    return status;
}

// Waits for fd to be ready for events until deadline; false on timeout.
bool waitFor(int fd, short events, std::chrono::steady_clock::time_point deadline)
{
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return false;
        pollfd p{ fd, events, 0 };
        const int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n > 0)
            return true;
        if (n == 0)
            return false;
        if (errno != EINTR)
            return true; // the next call reports the error
    }
}

// The whole answer, or why there is none.
int ask(int fd, std::string_view command, std::string &answer, const std::string &path)
{
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    if (::send(fd, command.data(), command.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(command.size()))
        return fail(kExitUnavailable, fmt::format("{}: {}", path, errnoText(errno)));
    char chunk[16384];
    for (;;) {
        if (!waitFor(fd, POLLIN, deadline))
            return fail(kExitUnavailable, fmt::format("{}: no answer within {} s", path,
                                                      ControlSocket::kTimeoutMs / 1000));
        const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
        if (n == 0)
            return kExitOk;
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return fail(kExitUnavailable, fmt::format("{}: {}", path, errnoText(errno)));
        if (n > 0)
            answer.append(chunk, static_cast<std::size_t>(n));
    }
}

} // namespace

int runStats(const Settings &settings, bool json)
{
    const std::string &path = settings.controlSocket;
    if (path.empty())
        return fail(kExitUnavailable,
                    "control-socket is none: the daemon answers no --stats (set control-socket)");
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd)
        return fail(kExitOsErr, fmt::format("socket: {}", errnoText(errno)));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), std::min(path.size(), sizeof(addr.sun_path) - 1));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr *>(&addr), sizeof(addr)) != 0) {
        const int err = errno;
        if (err == EACCES || err == EPERM)
            return fail(kExitNoPerm,
                        fmt::format("cannot connect to {}: {} (root or the daemon's group only)",
                                    path, errnoText(err)));
        return fail(kExitUnavailable,
                    fmt::format("cannot connect to {}: {} (is pisockd running, with this "
                                "control-socket?)",
                                path, errnoText(err)));
    }
    std::string answer;
    if (const int status = ask(fd.get(), json ? "stats json\n" : "stats\n", answer, path);
        status != kExitOk)
        return status;
    if (answer.starts_with("error: ") || answer.empty()) {
        const std::string_view why = answer.empty() ? std::string_view("closed without an answer")
                                                    : answer;
        return fail(kExitUnavailable, fmt::format("{}: {}", path, why.substr(0, why.find('\n'))));
    }
    std::fwrite(answer.data(), 1, answer.size(), stdout);
    return std::fflush(stdout) == 0 ? kExitOk : kExitOsErr;
}

} // namespace pisock
