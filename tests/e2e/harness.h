#pragma once

// Runs the real pisockd for end-to-end tests and talks to it through real sockets. Every wait
// polls with a deadline; every process started here is stopped here, by PID. The one header of
// the harness; its parts: harness_process.cpp (programs run to completion or on a pty, /proc),
// harness_daemon.cpp (the daemon under test), harness_sockets.cpp (listeners and clients),
// harness_util.cpp (temporary files, random bytes, counting in text, skips).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "daemon/socket_options.h"

namespace pisock::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The built binaries, from the environment meson sets ($PISOCKD, $PISOCK).
std::string daemonPath();
std::string clientPath();

// A temporary directory removed with its contents at the end of the test.
class TempDir
{
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    [[nodiscard]] const std::string &path() const { return path_; }
    std::string write(const std::string &name, std::string_view contents) const;

private:
    std::string path_;
};

struct ProcessResult {
    int status = -1; // exit status, or 128 + signal
    std::string out;
    std::string err;
};

// Runs a program to completion (killed after timeout) with stdin from input; env adds
// NAME=value entries to the environment.
ProcessResult runProcess(const std::vector<std::string> &argv, std::string_view input = {},
                         std::chrono::milliseconds timeout = 20s,
                         const std::vector<std::string> &env = {});

// A program run on a fresh pseudo-terminal (80x24, TERM=xterm), as a person would: the test
// types into it and reads the screen output, raw with escape sequences.
class PtyProcess
{
public:
    PtyProcess(const std::vector<std::string> &argv, const std::vector<std::string> &env = {});
    ~PtyProcess();
    PtyProcess(const PtyProcess &) = delete;
    PtyProcess &operator=(const PtyProcess &) = delete;

    void type(std::string_view keys);
    // Reads until the output after position `from` contains needle; true if it came in time.
    bool waitFor(std::string_view needle, std::chrono::milliseconds timeout = 10s,
                 std::size_t from = 0);
    // Everything the program wrote to the terminal so far.
    [[nodiscard]] const std::string &output() const { return output_; }
    // Waits for the exit (reading the output meanwhile); the status, or -1 on timeout.
    int wait(std::chrono::milliseconds timeout = 10s);

    // True once the program has exited (status in wait()).
    bool exited();

private:
    bool fill(Clock::time_point deadline);

    UniqueFd master_;
    pid_t pid_ = -1;
    int status_ = -1;
    std::string output_;
};

// A TCP socket bound to 127.0.0.1 (or ::1) on a free port and listening. v4mapped: an IPv6
// socket bound to ::ffff:127.0.0.1, so IPv4 clients arrive as IPv4-mapped addresses.
UniqueFd listenLoopback(bool ipv6 = false, int backlog = 1024, bool v4mapped = false);
std::uint16_t localPort(int fd);

struct DaemonOptions {
    bool socketActivation = true; // pass a fresh loopback listener as fd 3
    bool ipv6 = false;
    bool v4mapped = false; // listen on ::ffff:127.0.0.1 (see listenLoopback)
    int backlog = 1024; // of the passed listening socket
    std::vector<std::string> env; // extra NAME=value, replacing an inherited NAME
    // More sockets to pass (borrowed), after the harness's own listener if there is one:
    // fds 3, 4, ... with LISTEN_FDS, and LISTEN_FDNAMES when names are given.
    std::vector<int> passFds;
    std::vector<std::string> fdNames;
    // A command that starts the daemon by exec'ing it in place (systemd-socket-activate -l
    // ...); the daemon's path and arguments follow it.
    std::vector<std::string> wrapper;
    bool waitReady = true; // the constructor waits for READY=1
    bool journal = false; // capture the log as journal entries (PISOCKD_TEST_JOURNAL)
};

// One journal entry the daemon sent: field name to value.
using JournalEntry = std::map<std::string, std::string>;

// What /proc says about a process: memory in KiB, CPU time used so far.
struct ProcessStats {
    long rssKiB = 0; // VmRSS
    long peakRssKiB = 0; // VmHWM
    double cpuSeconds = 0; // utime + stime
};
ProcessStats processStats(pid_t pid);

// The daemon's own: raises this process's soft RLIMIT_NOFILE towards want, as far as the hard
// limit allows; returns the soft limit now in force. Children started later inherit it.
using pisock::raiseFdLimit;

// Options for a daemon that opens its own listeners (--listen, the configuration file).
DaemonOptions noActivation();

// A pisockd started for one test: socket activated on a free loopback port by default, with
// NOTIFY_SOCKET on a socket this object owns. The constructor waits for READY=1.
class Daemon
{
public:
    explicit Daemon(std::vector<std::string> args = {}, DaemonOptions options = {});
    ~Daemon();
    Daemon(const Daemon &) = delete;
    Daemon &operator=(const Daemon &) = delete;

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] pid_t pid() const { return pid_; }
    // Sends sig (0: none) and waits for the exit; returns the status (128 + signal if killed),
    // or -1 after killing it if it did not stop in time.
    int stop(int sig = 15, std::chrono::milliseconds timeout = 15s);
    // Sends sig and returns at once.
    void signal(int sig) const;
    // SIGHUP, then waits for the READY=1 that ends the reload.
    bool reload(std::chrono::milliseconds timeout = 10s);
    // True once the daemon has exited (status in exitStatus()).
    bool exited();
    [[nodiscard]] int exitStatus() const { return status_; }
    // Everything the daemon wrote to stderr so far.
    [[nodiscard]] std::string log() const;
    // Polls the log until it contains needle.
    bool waitForLog(std::string_view needle, std::chrono::milliseconds timeout = 10s) const;
    // sd_notify messages received so far, in order.
    std::vector<std::string> notifications();
    bool waitForNotification(std::string_view needle, std::chrono::milliseconds timeout = 10s);
    // How many notifications equal (or, with prefix, start with) needle.
    std::size_t countNotifications(std::string_view needle, bool prefix = false);
    // Waits until at least n notifications equal (or start with) needle.
    bool waitForNotifications(std::string_view needle, std::size_t n, bool prefix = false,
                              std::chrono::milliseconds timeout = 10s);
    // Journal entries received so far (DaemonOptions::journal), in order.
    std::vector<JournalEntry> journal() const;
    // Waits for an entry whose MESSAGE contains needle; returns it.
    std::optional<JournalEntry> waitForJournal(std::string_view needle,
                                               std::chrono::milliseconds timeout = 10s) const;

private:
    // Forks and execs the daemon, waits for READY=1 if asked to.
    void start(std::vector<std::string> args, const DaemonOptions &options,
               const std::vector<std::string> &extra, const std::vector<int> &pass);
    void readJournal();
    void stopJournal();
    // sd_notify() blocks once 10 datagrams wait unread (net.unix.max_dgram_qlen), as systemd
    // never lets happen: a thread reads them as they come, for tests of any length.
    void readNotifications();
    void stopReader();
    void reaped(int status);

    TempDir dir_;
    std::string logPath_;
    UniqueFd notify_;
    std::thread reader_;
    std::atomic<bool> stopReading_{ false };
    std::mutex notesMutex_;
    std::condition_variable notesChanged_;
    std::vector<std::string> notes_; // guarded by notesMutex_
    // The journal socket is read by a thread: the daemon's sends block until someone reads,
    // as they do with journald.
    UniqueFd journal_;
    UniqueFd journalStop_; // eventfd that ends the reader
    std::thread journalReader_;
    mutable std::mutex journalMutex_;
    std::vector<JournalEntry> journalEntries_;
    pid_t pid_ = -1;
    int status_ = -1;
    std::uint16_t port_ = 0;
};

// The port of the daemon's first "listening on HOST:PORT" log line for host; 0 if none.
std::uint16_t loggedPort(const Daemon &d, const std::string &host = "127.0.0.1");

// A blocking-free test client: every read waits with poll() up to a deadline.
class Client
{
public:
    // Connects to host:port ("127.0.0.1", "::1") or, with port 0, to the unix socket at host;
    // from the address source if given ("127.0.0.2").
    Client(const std::string &host, std::uint16_t port, const std::string &source = {});
    explicit Client(std::uint16_t port) : Client("127.0.0.1", port) {}
    // Wraps a connected socket, e.g. one accepted by a stand-in server.
    explicit Client(UniqueFd fd) : fd_(std::move(fd)) {}

    [[nodiscard]] int fd() const { return fd_.get(); }
    void send(std::string_view data);
    void shutdownWrite();
    // Closes the socket now (a daemon told to stop then need not wait for this client's FIN).
    void close() { fd_.reset(); }
    // Reads one line (without '\n'); nullopt on EOF or timeout.
    std::optional<std::string> readLine(std::chrono::milliseconds timeout = 10s);
    // Reads exactly n bytes, or what came before EOF/timeout.
    std::string readBytes(std::size_t n, std::chrono::milliseconds timeout = 10s);
    // Reads until the peer closes; returns what came. timedOut tells whether EOF never came.
    std::string readToEof(std::chrono::milliseconds timeout = 10s, bool *timedOut = nullptr);
    // True if the peer closed (EOF) within timeout, with nothing more to read.
    bool waitForEof(std::chrono::milliseconds timeout = 10s);
    // The errno that ended the stream (ECONNRESET...); 0 while open or after a clean EOF.
    [[nodiscard]] int error() const { return error_; }

private:
    bool fill(Clock::time_point deadline);

    UniqueFd fd_;
    std::string pending_;
    bool eof_ = false;
    int error_ = 0;
};

// Sends text and a newline; true if the reply mode's default answer came within timeout.
bool roundTrip(Client &c, const std::string &text, std::chrono::milliseconds timeout = 5s);

// Accepts one connection on a listening socket within timeout; an invalid fd otherwise.
UniqueFd acceptWithin(int listenFd, std::chrono::milliseconds timeout = 10s);

// A bound, not listening, loopback TCP socket: connecting to its port is refused for as long
// as it lives, and no other process can take the port meanwhile.
UniqueFd closedLoopbackPort();

std::string randomBytes(std::size_t n, unsigned seed = 1);

// How many times needle occurs in text (overlapping occurrences counted).
std::size_t countOf(std::string_view text, std::string_view needle);
// How many lines text holds ('\n' counted).
std::size_t lineCount(std::string_view text);

// Milliseconds since start, for latency figures.
double msSince(Clock::time_point start);
// A duration in whole seconds from environment variable name (a soak or pressure run made
// longer by hand), fallback seconds if it is unset.
std::chrono::milliseconds envSeconds(const char *name, int fallback);

// Words to put before a command (or as DaemonOptions::wrapper) so that it runs without the
// capabilities that let root ignore file permissions (setpriv drops CAP_DAC_OVERRIDE and
// CAP_DAC_READ_SEARCH), so a test can show what an unprivileged daemon meets: none when the
// test does not run as root; nothing (nullopt) as root when setpriv cannot drop them (as a
// child's /proc/self/status shows).
std::optional<std::vector<std::string>> withoutFileOverride();

// A unix stream socket bound to bindName (a leading '\0': abstract; empty: a name the kernel
// picks) and connected to the unix socket at path ("@name": abstract): a client that chose its
// own name.
UniqueFd connectUnixFrom(const std::string &path, std::string_view bindName);

// The Debian python3 with its packages (python3-pyte), not another one first in PATH.
std::string python3Path();

// Reports the current test case skipped, and why, the way scripts/test-summary counts and
// shows it ("SKIPPED-CASES: 1: why", one line). Call it, then return from the test case.
void skipCase(const std::string &why);

} // namespace pisock::test
