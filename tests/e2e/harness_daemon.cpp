// The daemon under test: started socket-activated or not, with its notifications, its log and
// its journal entries read as they come; stopped by PID.

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <regex>
#include <signal.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/e2e/harness.h"
#include "tests/e2e/harness_internal.h"

namespace pisock::test {

using detail::argvOf;
using detail::die;
using detail::Env;
using detail::readFile;
using detail::waitFor;

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

DaemonOptions noActivation()
{
    DaemonOptions o;
    o.socketActivation = false;
    return o;
}

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

std::uint16_t loggedPort(const Daemon &d, const std::string &host)
{
    const std::regex re("listening on " +
                        std::regex_replace(host, std::regex(R"([\[\]\.])"), R"(\$&)") +
                        ":([0-9]+)");
    std::smatch m;
    const std::string log = d.log();
    if (!std::regex_search(log, m, re))
        return 0;
    return static_cast<std::uint16_t>(std::stoi(m[1]));
}

} // namespace pisock::test
