#include "harness.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <random>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

namespace pisock::test {

namespace {

[[noreturn]] void die(const std::string &what)
{
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

int remainingMs(Clock::time_point deadline)
{
    const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

std::string readFile(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Waits for pid with a deadline; returns the status or nullopt on timeout.
std::optional<int> waitFor(pid_t pid, Clock::time_point deadline)
{
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0 && errno != EINTR)
            return -1;
        if (Clock::now() >= deadline)
            return std::nullopt;
        // Polling a child's exit has no fd to wait on without pidfd; 5 ms steps stay cheap.
        ::poll(nullptr, 0, 5);
    }
}

// Builds "NAME=value" arrays before fork: after fork only async-signal-safe calls happen.
struct Env {
    std::vector<std::string> strings;
    std::vector<char *> pointers;

    explicit Env(const std::vector<std::string> &extra, const std::vector<std::string> &unset)
    {
        std::vector<std::string> drop = unset;
        for (const auto &kv : extra)
            drop.push_back(kv.substr(0, kv.find('='))); // an extra NAME=value replaces NAME
        for (char **e = environ; *e; ++e) {
            std::string_view kv(*e);
            bool skip = false;
            for (const auto &name : drop)
                skip = skip || kv.starts_with(name + "=");
            if (!skip)
                strings.emplace_back(kv);
        }
        for (const auto &kv : extra)
            strings.push_back(kv);
        for (auto &s : strings)
            pointers.push_back(s.data());
        pointers.push_back(nullptr);
    }
};

std::vector<char *> argvOf(std::vector<std::string> &args)
{
    std::vector<char *> v;
    for (auto &a : args)
        v.push_back(a.data());
    v.push_back(nullptr);
    return v;
}

} // namespace

std::string daemonPath()
{
    const char *p = std::getenv("PISOCKD");
    return p ? p : "build/daemon/pisockd";
}

std::string clientPath()
{
    const char *p = std::getenv("PISOCK");
    return p ? p : "build/client/pisock";
}

TempDir::TempDir()
{
    std::string tmpl = (std::filesystem::temp_directory_path() / "pisock-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
        die("mkdtemp");
    path_ = tmpl;
}

TempDir::~TempDir()
{
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string &name, std::string_view contents) const
{
    const std::string p = path_ + "/" + name;
    std::ofstream out(p, std::ios::binary);
    out << contents;
    return p;
}

ProcessResult runProcess(const std::vector<std::string> &argvIn, std::string_view input,
                         std::chrono::milliseconds timeout, const std::vector<std::string> &extra)
{
    TempDir dir;
    const std::string inPath = dir.write("stdin", input);
    const std::string outPath = dir.path() + "/stdout";
    const std::string errPath = dir.path() + "/stderr";
    std::vector<std::string> args = argvIn;
    auto argv = argvOf(args);
    Env env(extra, { "LISTEN_FDS", "LISTEN_PID", "NOTIFY_SOCKET" });

    const pid_t pid = ::fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        int in = ::open(inPath.c_str(), O_RDONLY);
        int out = ::open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = ::open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0)
            ::_exit(127);
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        ::execve(argv[0], argv.data(), env.pointers.data());
        ::_exit(127);
    }
    ProcessResult r;
    auto status = waitFor(pid, Clock::now() + timeout);
    if (!status) {
        ::kill(pid, SIGKILL);
        status = waitFor(pid, Clock::now() + 5s);
    }
    r.status = status.value_or(-1);
    r.out = readFile(outPath);
    r.err = readFile(errPath);
    return r;
}

PtyProcess::PtyProcess(const std::vector<std::string> &argvIn, const std::vector<std::string> &env)
{
    std::vector<std::string> args = argvIn;
    auto argv = argvOf(args);
    std::vector<std::string> extra = { "TERM=xterm", "COLUMNS=80", "LINES=24" };
    extra.insert(extra.end(), env.begin(), env.end());
    Env envp(extra, { "LISTEN_FDS", "LISTEN_PID", "NOTIFY_SOCKET", "TERM", "COLUMNS", "LINES" });
    winsize ws{};
    ws.ws_row = 24;
    ws.ws_col = 80;
    int master = -1;
    pid_ = ::forkpty(&master, nullptr, nullptr, &ws);
    if (pid_ < 0)
        die("forkpty");
    if (pid_ == 0) {
        ::execve(argv[0], argv.data(), envp.pointers.data());
        ::_exit(127);
    }
    master_.reset(master);
    ::fcntl(master, F_SETFD, FD_CLOEXEC);
    ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
}

PtyProcess::~PtyProcess()
{
    if (pid_ > 0 && status_ < 0) {
        ::kill(pid_, SIGKILL);
        pisock::test::waitFor(pid_, Clock::now() + 10s);
    }
}

void PtyProcess::type(std::string_view keys)
{
    while (!keys.empty()) {
        const ssize_t n = ::write(master_.get(), keys.data(), keys.size());
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
            // The program may be blocked writing to the terminal: read its output meanwhile.
            fill(Clock::now() + 10ms);
            continue;
        }
        if (n < 0)
            die("write to pty");
        keys.remove_prefix(static_cast<std::size_t>(n));
    }
}

bool PtyProcess::fill(Clock::time_point deadline)
{
    pollfd p{ master_.get(), POLLIN, 0 };
    if (::poll(&p, 1, remainingMs(deadline)) <= 0)
        return false;
    char buf[4096];
    const ssize_t n = ::read(master_.get(), buf, sizeof(buf));
    if (n > 0) {
        output_.append(buf, static_cast<std::size_t>(n));
        return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    return false; // EIO: the program closed the terminal
}

bool PtyProcess::waitFor(std::string_view needle, std::chrono::milliseconds timeout,
                         std::size_t from)
{
    const auto deadline = Clock::now() + timeout;
    const auto found = [&] {
        return output_.size() > from && output_.find(needle, from) != std::string::npos;
    };
    for (;;) {
        if (found())
            return true;
        if (Clock::now() >= deadline)
            return false;
        if (!fill(deadline) && exited())
            return found();
    }
}

bool PtyProcess::exited()
{
    if (status_ < 0) {
        if (auto s = pisock::test::waitFor(pid_, Clock::now()))
            status_ = *s;
    }
    return status_ >= 0;
}

int PtyProcess::wait(std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    // Keep reading: a program blocked on a full terminal would never exit.
    while (!exited()) {
        if (Clock::now() >= deadline)
            return -1;
        fill(std::min(deadline, Clock::now() + 20ms));
    }
    while (fill(Clock::now())) {
    }
    return status_;
}

UniqueFd acceptWithin(int listenFd, std::chrono::milliseconds timeout)
{
    pollfd p{ listenFd, POLLIN, 0 };
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0)
        return {};
    return UniqueFd(::accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC));
}

UniqueFd closedLoopbackPort()
{
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0)
        die("bind");
    return fd;
}

UniqueFd listenLoopback(bool ipv6)
{
    UniqueFd fd(::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd)
        die("socket");
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (ipv6) {
        auto *a = reinterpret_cast<sockaddr_in6 *>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof(*a);
    } else {
        auto *a = reinterpret_cast<sockaddr_in *>(&ss);
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*a);
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&ss), len) != 0)
        die("bind");
    if (::listen(fd.get(), 1024) != 0)
        die("listen");
    return fd;
}

std::uint16_t localPort(int fd)
{
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len);
    if (ss.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in *>(&ss)->sin_port);
}

Daemon::Daemon(std::vector<std::string> args, DaemonOptions options)
{
    logPath_ = dir_.path() + "/stderr";

    // The notification socket: abstract, so nothing to clean up.
    static int counter = 0;
    const std::string notifyName =
            "@pisock-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    notify_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path + 1, notifyName.data() + 1, notifyName.size() - 1);
    const auto sunLen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + notifyName.size());
    if (::bind(notify_.get(), reinterpret_cast<sockaddr *>(&sun), sunLen) != 0)
        die("bind notify socket");

    UniqueFd listener;
    std::vector<std::string> extra = options.env;
    extra.push_back("NOTIFY_SOCKET=" + notifyName);
    if (options.socketActivation) {
        listener = listenLoopback(options.ipv6);
        port_ = localPort(listener.get());
        extra.emplace_back("LISTEN_FDS=1");
    }
    Env env(extra,
            { "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET", "JOURNAL_STREAM" });
    args.insert(args.begin(), daemonPath());
    auto argv = argvOf(args);
    // LISTEN_PID must be the daemon's own pid: written by the child, from a buffer made here.
    std::string listenPid = "LISTEN_PID=0000000000";
    std::vector<char *> envp = env.pointers;
    if (listener)
        envp.insert(envp.end() - 1, listenPid.data());

    pid_ = ::fork();
    if (pid_ < 0)
        die("fork");
    if (pid_ == 0) {
        int err = ::open(logPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int devnull = ::open("/dev/null", O_RDWR);
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(err, 2);
        if (listener) {
            if (listener.get() == 3)
                ::fcntl(3, F_SETFD, 0);
            else
                ::dup2(listener.get(), 3);
            // No leading zeros: systemd reads "0..." as octal.
            char digits[16];
            int len = 0;
            for (auto v = static_cast<unsigned long>(::getpid()); v > 0; v /= 10)
                digits[len++] = static_cast<char>('0' + v % 10);
            char *out = listenPid.data() + std::strlen("LISTEN_PID=");
            for (int i = 0; i < len; ++i)
                out[i] = digits[len - 1 - i];
            out[len] = '\0';
        }
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }

    if (!waitForNotification("READY=1", 15s)) {
        const std::string log = this->log();
        stop(SIGKILL);
        throw std::runtime_error("pisockd did not become ready; its log:\n" + log);
    }
}

Daemon::~Daemon()
{
    if (pid_ > 0 && status_ < 0) {
        ::kill(pid_, SIGKILL);
        waitFor(pid_, Clock::now() + 10s);
    }
}

bool Daemon::exited()
{
    if (status_ >= 0)
        return true;
    if (auto s = waitFor(pid_, Clock::now())) {
        status_ = *s;
        return true;
    }
    return false;
}

int Daemon::stop(int sig, std::chrono::milliseconds timeout)
{
    if (exited())
        return status_;
    ::kill(pid_, sig);
    if (auto s = waitFor(pid_, Clock::now() + timeout)) {
        status_ = *s;
        return status_;
    }
    ::kill(pid_, SIGKILL);
    status_ = waitFor(pid_, Clock::now() + 10s).value_or(-1);
    return -1; // did not stop in time
}

std::string Daemon::log() const
{
    return readFile(logPath_);
}

bool Daemon::waitForLog(std::string_view needle, std::chrono::milliseconds timeout) const
{
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (log().find(needle) != std::string::npos)
            return true;
        if (Clock::now() >= deadline)
            return false;
        ::poll(nullptr, 0, 10); // a file has no readiness to wait for
    }
}

std::vector<std::string> Daemon::notifications()
{
    char buf[4096];
    for (;;) {
        const ssize_t n = ::recv(notify_.get(), buf, sizeof(buf), 0);
        if (n < 0)
            break;
        // One datagram may carry several NAME=value lines.
        std::string_view all(buf, static_cast<std::size_t>(n));
        while (!all.empty()) {
            const auto nl = all.find('\n');
            notes_.emplace_back(all.substr(0, nl));
            all.remove_prefix(nl == std::string_view::npos ? all.size() : nl + 1);
        }
    }
    return notes_;
}

bool Daemon::waitForNotification(std::string_view needle, std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        for (const auto &n : notifications())
            if (n == needle)
                return true;
        if (exited() || Clock::now() >= deadline)
            return false;
        pollfd p{ notify_.get(), POLLIN, 0 };
        ::poll(&p, 1, std::min(remainingMs(deadline), 50)); // 50: notice an early exit
    }
}

Client::Client(const std::string &host, std::uint16_t port)
{
    sockaddr_storage ss{};
    socklen_t len = 0;
    int family = AF_INET;
    if (port == 0) {
        family = AF_UNIX;
        auto *a = reinterpret_cast<sockaddr_un *>(&ss);
        a->sun_family = AF_UNIX;
        std::strncpy(a->sun_path, host.c_str(), sizeof(a->sun_path) - 1);
        len = sizeof(*a);
    } else if (host.find(':') != std::string::npos) {
        family = AF_INET6;
        auto *a = reinterpret_cast<sockaddr_in6 *>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        ::inet_pton(AF_INET6, host.c_str(), &a->sin6_addr);
        len = sizeof(*a);
    } else {
        auto *a = reinterpret_cast<sockaddr_in *>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        ::inet_pton(AF_INET, host.c_str(), &a->sin_addr);
        len = sizeof(*a);
    }
    fd_.reset(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd_)
        die("socket");
    if (::connect(fd_.get(), reinterpret_cast<sockaddr *>(&ss), len) != 0)
        die("connect to " + host + ":" + std::to_string(port));
}

void Client::send(std::string_view data)
{
    // Blocking socket: send() returns when the kernel took it all (or the peer is gone).
    while (!data.empty()) {
        const ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("send");
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

void Client::shutdownWrite()
{
    ::shutdown(fd_.get(), SHUT_WR);
}

bool Client::fill(Clock::time_point deadline)
{
    if (eof_)
        return false;
    pollfd p{ fd_.get(), POLLIN, 0 };
    if (::poll(&p, 1, remainingMs(deadline)) <= 0)
        return false;
    char buf[65536];
    const ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return true;
        eof_ = true;
        return false;
    }
    pending_.append(buf, static_cast<std::size_t>(n));
    return true;
}

std::optional<std::string> Client::readLine(std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (auto nl = pending_.find('\n'); nl != std::string::npos) {
            std::string line = pending_.substr(0, nl);
            pending_.erase(0, nl + 1);
            return line;
        }
        if (!fill(deadline))
            return std::nullopt;
    }
}

std::string Client::readBytes(std::size_t n, std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    while (pending_.size() < n && fill(deadline)) {
    }
    std::string out = pending_.substr(0, n);
    pending_.erase(0, out.size());
    return out;
}

std::string Client::readToEof(std::chrono::milliseconds timeout, bool *timedOut)
{
    const auto deadline = Clock::now() + timeout;
    while (fill(deadline)) {
    }
    if (timedOut)
        *timedOut = !eof_;
    return std::exchange(pending_, {});
}

bool Client::waitForEof(std::chrono::milliseconds timeout)
{
    bool timedOut = true;
    const std::string rest = readToEof(timeout, &timedOut);
    return !timedOut && rest.empty();
}

std::string randomBytes(std::size_t n, unsigned seed)
{
    std::mt19937 gen(seed);
    std::string s(n, '\0');
    for (auto &c : s)
        c = static_cast<char>(gen() & 0xff);
    return s;
}

} // namespace pisock::test
