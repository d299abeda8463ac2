#include "harness.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <netinet/in.h>
#include <poll.h>
#include <random>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/resource.h>
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
        for (char **e = environ; *e; ++e) {
            std::string_view kv(*e);
            bool skip = false;
            for (const auto &name : unset)
                skip = skip || kv.starts_with(name + "=");
            // An extra NAME=value replaces the inherited one.
            for (const auto &set : extra)
                skip = skip || kv.starts_with(set.substr(0, set.find('=') + 1));
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
                         std::chrono::milliseconds timeout)
{
    TempDir dir;
    const std::string inPath = dir.write("stdin", input);
    const std::string outPath = dir.path() + "/stdout";
    const std::string errPath = dir.path() + "/stderr";
    std::vector<std::string> args = argvIn;
    auto argv = argvOf(args);
    Env env({}, { "LISTEN_FDS", "LISTEN_PID", "NOTIFY_SOCKET" });

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

UniqueFd listenLoopback(bool ipv6, int backlog, bool v4mapped)
{
    UniqueFd fd(::socket(ipv6 || v4mapped ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd)
        die("socket");
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (v4mapped) {
        int zero = 0;
        ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        auto *a = reinterpret_cast<sockaddr_in6 *>(&ss);
        a->sin6_family = AF_INET6;
        ::inet_pton(AF_INET6, "::ffff:127.0.0.1", &a->sin6_addr);
        len = sizeof(*a);
    } else if (ipv6) {
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
    if (::listen(fd.get(), backlog) != 0)
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
        listener = listenLoopback(options.ipv6, options.backlog, options.v4mapped);
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
        // Nothing but async-signal-safe calls from here: the parent may have threads.
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

    reader_ = std::thread([this] { readNotifications(); });
    if (!waitForNotification("READY=1", 15s)) {
        const std::string log = this->log();
        stop(SIGKILL);
        stopReader();
        throw std::runtime_error("pisockd did not become ready; its log:\n" + log);
    }
}

void Daemon::stopReader()
{
    stopReading_ = true;
    if (reader_.joinable())
        reader_.join();
}

Daemon::~Daemon()
{
    stopReader();
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

void Daemon::readNotifications()
{
    char buf[4096];
    while (!stopReading_) {
        pollfd p{ notify_.get(), POLLIN, 0 };
        if (::poll(&p, 1, 50) <= 0) // 50 ms: notice stopReading_
            continue;
        const ssize_t n = ::recv(notify_.get(), buf, sizeof(buf), 0);
        if (n < 0)
            continue;
        // One datagram may carry several NAME=value lines.
        std::string_view all(buf, static_cast<std::size_t>(n));
        std::lock_guard lock(notesMutex_);
        while (!all.empty()) {
            const auto nl = all.find('\n');
            notes_.emplace_back(all.substr(0, nl));
            all.remove_prefix(nl == std::string_view::npos ? all.size() : nl + 1);
        }
        notesChanged_.notify_all();
    }
}

std::vector<std::string> Daemon::notifications()
{
    std::lock_guard lock(notesMutex_);
    return notes_;
}

bool Daemon::waitForNotification(std::string_view needle, std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    std::unique_lock lock(notesMutex_);
    for (;;) {
        if (std::find(notes_.begin(), notes_.end(), needle) != notes_.end())
            return true;
        lock.unlock();
        const bool gone = exited();
        lock.lock();
        if (gone || Clock::now() >= deadline)
            return false;
        // 50 ms: notice an early exit, which no notification announces.
        notesChanged_.wait_for(lock, std::min<Clock::duration>(deadline - Clock::now(), 50ms));
    }
}

ProcessStats processStats(pid_t pid)
{
    ProcessStats stats;
    const std::string dir = "/proc/" + std::to_string(pid);
    std::istringstream status(readFile(dir + "/status"));
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmRSS:", 0) == 0)
            stats.rssKiB = std::stol(line.substr(6));
        else if (line.rfind("VmHWM:", 0) == 0)
            stats.peakRssKiB = std::stol(line.substr(6));
    }
    // Fields after "(comm)": state is field 3, utime 14, stime 15 (proc(5)), in clock ticks.
    const std::string stat = readFile(dir + "/stat");
    std::istringstream fields(stat.substr(stat.rfind(')') + 1));
    std::vector<std::string> f{ std::istream_iterator<std::string>(fields), {} };
    if (f.size() > 12)
        stats.cpuSeconds = static_cast<double>(std::stoull(f[11]) + std::stoull(f[12])) /
                           static_cast<double>(::sysconf(_SC_CLK_TCK));
    return stats;
}

std::size_t raiseFdLimit(std::size_t want)
{
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur >= want)
        return lim.rlim_cur;
    rlimit wanted{ want, std::max<rlim_t>(want, lim.rlim_max) };
    if (::setrlimit(RLIMIT_NOFILE, &wanted) != 0) { // not root: as far as the hard limit
        wanted = { lim.rlim_max, lim.rlim_max };
        ::setrlimit(RLIMIT_NOFILE, &wanted);
    }
    ::getrlimit(RLIMIT_NOFILE, &lim);
    return lim.rlim_cur;
}

Client::Client(const std::string &host, std::uint16_t port, const std::string &source)
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
    if (!source.empty()) {
        sockaddr_in from{};
        from.sin_family = AF_INET;
        ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
        if (::bind(fd_.get(), reinterpret_cast<sockaddr *>(&from), sizeof(from)) != 0)
            die("bind to " + source);
    }
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
        error_ = n < 0 ? errno : 0;
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
