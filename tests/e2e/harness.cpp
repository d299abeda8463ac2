#include "harness.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <random>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
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
        std::vector<std::string> drop = unset;
        for (const auto &kv : extra)
            drop.push_back(kv.substr(0, kv.find('='))); // an extra NAME=value replaces NAME
        for (char **e = environ; *e; ++e) {
            std::string_view kv(*e);
            bool skip = false;
            for (const auto &name : drop)
                skip = skip || kv.starts_with(name + "=");
            // An extra NAME=value replaces the inherited one.
            for (const auto &set : extra)
                skip = skip || kv.starts_with(set.substr(0, set.find('=') + 1));
            if (!skip)
                strings.emplace_back(kv);
        }
        // The first extra NAME=value wins over later ones (a test's own over the harness's):
        // exec'd under qemu-user, a program would see only the last of two.
        std::vector<std::string> set;
        for (const auto &kv : extra) {
            const std::string name = kv.substr(0, kv.find('=') + 1);
            if (std::find(set.begin(), set.end(), name) == set.end()) {
                set.push_back(name);
                strings.push_back(kv);
            }
        }
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
    Env env(extra, { "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET",
                     "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID" });

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

namespace {

// A unix datagram socket bound at path (or, with a leading '@', in the abstract namespace).
UniqueFd bindDatagram(const std::string &name, bool nonBlocking)
{
    UniqueFd fd(
            ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | (nonBlocking ? SOCK_NONBLOCK : 0), 0));
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, name.data(), name.size());
    if (name[0] == '@')
        sun.sun_path[0] = '\0';
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() +
                                            (name[0] == '@' ? 0 : 1));
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr *>(&sun), len) != 0)
        die("bind " + name);
    return fd;
}

// Parses one native-protocol datagram: "NAME=value" lines (pisockd sends no binary fields).
JournalEntry parseJournalDatagram(std::string_view all)
{
    JournalEntry entry;
    while (!all.empty()) {
        const auto nl = all.find('\n');
        const std::string_view line = all.substr(0, nl);
        all.remove_prefix(nl == std::string_view::npos ? all.size() : nl + 1);
        const auto eq = line.find('=');
        if (eq != std::string_view::npos)
            entry[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
    return entry;
}

} // namespace

Daemon::Daemon(std::vector<std::string> args, DaemonOptions options)
{
    logPath_ = dir_.path() + "/stderr";

    // The notification socket: abstract, so nothing to clean up.
    static int counter = 0;
    const std::string notifyName =
            "@pisock-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    notify_ = bindDatagram(notifyName, true);

    UniqueFd listener;
    std::vector<std::string> extra = options.env;
    extra.push_back("NOTIFY_SOCKET=" + notifyName);
    std::vector<int> pass;
    if (options.socketActivation) {
        listener = listenLoopback(options.ipv6, options.backlog, options.v4mapped);
        port_ = localPort(listener.get());
        pass.push_back(listener.get());
    }
    pass.insert(pass.end(), options.passFds.begin(), options.passFds.end());
    if (!pass.empty())
        extra.push_back("LISTEN_FDS=" + std::to_string(pass.size()));
    if (!options.fdNames.empty()) {
        std::string names = "LISTEN_FDNAMES=";
        for (std::size_t i = 0; i < options.fdNames.size(); ++i)
            names += (i ? ":" : "") + options.fdNames[i];
        extra.push_back(names);
    }
    {
        // Created here so its inode is known: the child opens the same file.
        UniqueFd log(::open(logPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        struct stat st {
        };
        if (!log || ::fstat(log.get(), &st) != 0)
            die("create " + logPath_);
        if (options.journal) // stderr "is the journal": as systemd says for a service
            extra.push_back("JOURNAL_STREAM=" + std::to_string(st.st_dev) + ":" +
                            std::to_string(st.st_ino));
    }
    if (options.journal) {
        const std::string path = dir_.path() + "/journal.sock";
        journal_ = bindDatagram(path, true);
        journalStop_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        journalReader_ = std::thread([this] { readJournal(); });
        extra.push_back("PISOCKD_TEST_JOURNAL=" + path);
    }
    try {
        start(args, options, extra, pass);
    } catch (...) {
        stopReader(); // joinable threads must not be destroyed
        stopJournal();
        throw;
    }
}

void Daemon::start(std::vector<std::string> args, const DaemonOptions &options,
                   const std::vector<std::string> &extra, const std::vector<int> &pass)
{
    Env env(extra, { "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET",
                     "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID", "PISOCKD_TEST_JOURNAL" });
    args.insert(args.begin(), daemonPath());
    args.insert(args.begin(), options.wrapper.begin(), options.wrapper.end());
    auto argv = argvOf(args);
    // LISTEN_PID must be the daemon's own pid: written by the child, from a buffer made here.
    std::string listenPid = "LISTEN_PID=0000000000";
    std::vector<char *> envp = env.pointers;
    if (!pass.empty())
        envp.insert(envp.end() - 1, listenPid.data());

    pid_ = ::fork();
    if (pid_ < 0)
        die("fork");
    if (pid_ == 0) {
        // Nothing but async-signal-safe calls from here: the parent has threads.
        int err = ::open(logPath_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(err, 2);
        // Passed sockets go to 3, 4, ...: first out of the way (fds a test holds may be
        // anywhere, 3 included), then into place; dup2 clears close-on-exec.
        int moved[64];
        const std::size_t n = std::min<std::size_t>(pass.size(), 64);
        for (std::size_t i = 0; i < n; ++i)
            moved[i] = ::fcntl(pass[i], F_DUPFD_CLOEXEC, 100);
        for (std::size_t i = 0; i < n; ++i)
            ::dup2(moved[i], 3 + static_cast<int>(i));
        if (n > 0) {
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
    if (options.waitReady && !waitForNotification("READY=1", 15s)) {
        const std::string log = this->log();
        stop(SIGKILL);
        throw std::runtime_error("pisockd did not become ready; its log:\n" + log);
    }
}

void Daemon::readJournal()
{
    std::vector<char> buf(1 << 20);
    for (;;) {
        pollfd p[2] = { { journal_.get(), POLLIN, 0 }, { journalStop_.get(), POLLIN, 0 } };
        if (::poll(p, 2, -1) < 0 && errno != EINTR)
            return;
        if (p[1].revents)
            return;
        for (;;) {
            const ssize_t n = ::recv(journal_.get(), buf.data(), buf.size(), 0);
            if (n < 0)
                break;
            JournalEntry entry = parseJournalDatagram({ buf.data(), static_cast<std::size_t>(n) });
            const std::lock_guard lock(journalMutex_);
            journalEntries_.push_back(std::move(entry));
        }
    }
}

std::vector<JournalEntry> Daemon::journal() const
{
    const std::lock_guard lock(journalMutex_);
    return journalEntries_;
}

std::optional<JournalEntry> Daemon::waitForJournal(std::string_view needle,
                                                   std::chrono::milliseconds timeout) const
{
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        for (const auto &e : journal()) {
            auto it = e.find("MESSAGE");
            if (it != e.end() && it->second.find(needle) != std::string::npos)
                return e;
        }
        if (Clock::now() >= deadline)
            return std::nullopt;
        ::poll(nullptr, 0, 10); // the reader thread fills the list
    }
}

void Daemon::signal(int sig) const
{
    ::kill(pid_, sig);
}

bool Daemon::reload(std::chrono::milliseconds timeout)
{
    const std::size_t ready = countNotifications("READY=1");
    signal(SIGHUP);
    return waitForNotifications("READY=1", ready + 1, false, timeout);
}

std::size_t Daemon::countNotifications(std::string_view needle, bool prefix)
{
    std::size_t n = 0;
    for (const auto &note : notifications())
        if (prefix ? note.starts_with(needle) : note == needle)
            ++n;
    return n;
}

bool Daemon::waitForNotifications(std::string_view needle, std::size_t n, bool prefix,
                                  std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    const auto count = [&] {
        return static_cast<std::size_t>(
                std::count_if(notes_.begin(), notes_.end(), [&](const std::string &note) {
                    return prefix ? note.starts_with(needle) : note == needle;
                }));
    };
    std::unique_lock lock(notesMutex_);
    for (;;) {
        if (count() >= n)
            return true;
        lock.unlock();
        const bool gone = exited();
        lock.lock();
        if (gone) // exited() made the reader take every last note
            return count() >= n;
        if (Clock::now() >= deadline)
            return false;
        // 50 ms: notice an early exit, which no notification announces.
        notesChanged_.wait_for(lock, std::min<Clock::duration>(deadline - Clock::now(), 50ms));
    }
}

Daemon::~Daemon()
{
    if (pid_ > 0 && status_ < 0) {
        ::kill(pid_, SIGKILL);
        waitFor(pid_, Clock::now() + 10s);
    }
    stopReader();
    stopJournal();
}

void Daemon::stopReader()
{
    stopReading_ = true;
    if (reader_.joinable())
        reader_.join();
}

void Daemon::stopJournal()
{
    if (journalReader_.joinable()) {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(journalStop_.get(), &one, sizeof(one));
        journalReader_.join();
    }
}

bool Daemon::exited()
{
    if (status_ >= 0)
        return true;
    if (auto s = waitFor(pid_, Clock::now())) {
        reaped(*s);
        return true;
    }
    return false;
}

// The daemon is gone, so every notification it sent is queued on notify_: the reader takes
// them all before it ends (it may lag behind the exit, under load or under qemu-user).
void Daemon::reaped(int status)
{
    status_ = status;
    stopReader();
}

int Daemon::stop(int sig, std::chrono::milliseconds timeout)
{
    if (exited())
        return status_;
    ::kill(pid_, sig);
    if (auto s = waitFor(pid_, Clock::now() + timeout)) {
        reaped(*s);
        return status_;
    }
    ::kill(pid_, SIGKILL);
    reaped(waitFor(pid_, Clock::now() + 10s).value_or(-1));
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
    for (;;) {
        // Once asked to stop, take what is queued without waiting, then end.
        const bool draining = stopReading_;
        pollfd p{ notify_.get(), POLLIN, 0 };
        if (::poll(&p, 1, draining ? 0 : 50) <= 0) { // 50 ms: notice stopReading_
            if (draining)
                return;
            continue;
        }
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
    return waitForNotifications(needle, 1, false, timeout);
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
    // rlim_t is 64 bits also where size_t is 32 (armhf), and RLIM_INFINITY is its maximum.
    const auto asSize = [](rlim_t n) {
        return static_cast<std::size_t>(
                std::min<rlim_t>(n, std::numeric_limits<std::size_t>::max()));
    };
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur >= want)
        return asSize(lim.rlim_cur);
    rlimit wanted{ want, std::max<rlim_t>(want, lim.rlim_max) };
    if (::setrlimit(RLIMIT_NOFILE, &wanted) != 0) { // not root: as far as the hard limit
        wanted = { lim.rlim_max, lim.rlim_max };
        ::setrlimit(RLIMIT_NOFILE, &wanted);
    }
    ::getrlimit(RLIMIT_NOFILE, &lim);
    return asSize(lim.rlim_cur);
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

std::optional<std::vector<std::string>> withoutFileOverride()
{
    if (::geteuid() != 0)
        return std::vector<std::string>{};
    // Out of the inheritable set too (which takes them out of the ambient set): root's exec
    // gains what is inheritable, bounding set or not, and a systemd-nspawn container hands
    // root a full inheritable set. Dropping from the bounding set needs CAP_SETPCAP, which a
    // container may not give.
    std::vector<std::string> wrapper{ "/usr/bin/setpriv", // util-linux, essential on Debian
                                      "--bounding-set=-dac_override,-dac_read_search",
                                      "--inh-caps=-dac_override,-dac_read_search", "--" };
    if (::access(wrapper[0].c_str(), X_OK) != 0)
        return std::nullopt;
    // What the command really holds: neither bit 1 (CAP_DAC_OVERRIDE) nor bit 2
    // (CAP_DAC_READ_SEARCH) in its permitted and effective sets.
    std::vector<std::string> probe = wrapper;
    probe.insert(probe.end(), { "/bin/grep", "-E", "^Cap(Prm|Eff):", "/proc/self/status" });
    const auto r = runProcess(probe, {}, 10s);
    std::istringstream lines(r.out);
    int seen = 0;
    for (std::string name, hex; lines >> name >> hex; ++seen) {
        if ((std::stoull(hex, nullptr, 16) & 0b110) != 0)
            return std::nullopt;
    }
    if (r.status != 0 || seen != 2)
        return std::nullopt;
    return wrapper;
}

UniqueFd connectUnixFrom(const std::string &path, std::string_view bindName)
{
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un own{};
    own.sun_family = AF_UNIX;
    const std::size_t n = std::min(bindName.size(), sizeof(own.sun_path));
    std::memcpy(own.sun_path, bindName.data(), n);
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr *>(&own),
                      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n)) != 0)
        die("bind a unix client");
    sockaddr_un to{};
    to.sun_family = AF_UNIX;
    const std::size_t m = std::min(path.size(), sizeof(to.sun_path) - 1);
    std::memcpy(to.sun_path, path.data(), m);
    socklen_t length = sizeof(to);
    if (path.starts_with('@')) { // abstract: the name is exactly its bytes
        to.sun_path[0] = '\0';
        length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + m);
    }
    if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&to), length) != 0)
        die("connect to " + path);
    return fd;
}

std::string python3Path()
{
    return "/usr/bin/python3";
}

void skipCase(const std::string &why)
{
    std::string line = why;
    std::replace(line.begin(), line.end(), '\n', ' ');
    std::printf("SKIPPED-CASES: 1: %s\n", line.c_str());
    std::fflush(stdout);
}

} // namespace pisock::test
