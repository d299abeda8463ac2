#pragma once

// Runs the real pisockd for end-to-end tests and talks to it through real sockets. Every wait
// polls with a deadline; every process started here is stopped here, by PID.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "common/unique_fd.h"

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

// A TCP socket bound to 127.0.0.1 (or ::1) on a free port and listening.
UniqueFd listenLoopback(bool ipv6 = false);
std::uint16_t localPort(int fd);

struct DaemonOptions {
    bool socketActivation = true; // pass a fresh loopback listener as fd 3
    bool ipv6 = false;
    std::vector<std::string> env; // extra NAME=value
};

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
    // Sends sig and waits for the exit; returns the status (128 + signal if killed).
    int stop(int sig = 15, std::chrono::milliseconds timeout = 15s);
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

private:
    TempDir dir_;
    std::string logPath_;
    UniqueFd notify_;
    std::vector<std::string> notes_;
    pid_t pid_ = -1;
    int status_ = -1;
    std::uint16_t port_ = 0;
};

// A blocking-free test client: every read waits with poll() up to a deadline.
class Client
{
public:
    // Connects to host:port ("127.0.0.1", "::1") or, with port 0, to the unix socket at host.
    Client(const std::string &host, std::uint16_t port);
    explicit Client(std::uint16_t port) : Client("127.0.0.1", port) {}
    // Wraps a connected socket, e.g. one accepted by a stand-in server.
    explicit Client(UniqueFd fd) : fd_(std::move(fd)) {}

    [[nodiscard]] int fd() const { return fd_.get(); }
    void send(std::string_view data);
    void shutdownWrite();
    // Reads one line (without '\n'); nullopt on EOF or timeout.
    std::optional<std::string> readLine(std::chrono::milliseconds timeout = 10s);
    // Reads exactly n bytes, or what came before EOF/timeout.
    std::string readBytes(std::size_t n, std::chrono::milliseconds timeout = 10s);
    // Reads until the peer closes; returns what came. timedOut tells whether EOF never came.
    std::string readToEof(std::chrono::milliseconds timeout = 10s, bool *timedOut = nullptr);
    // True if the peer closed (EOF) within timeout, with nothing more to read.
    bool waitForEof(std::chrono::milliseconds timeout = 10s);

private:
    bool fill(Clock::time_point deadline);

    UniqueFd fd_;
    std::string pending_;
    bool eof_ = false;
};

// Accepts one connection on a listening socket within timeout; an invalid fd otherwise.
UniqueFd acceptWithin(int listenFd, std::chrono::milliseconds timeout = 10s);

// A bound, not listening, loopback TCP socket: connecting to its port is refused for as long
// as it lives, and no other process can take the port meanwhile.
UniqueFd closedLoopbackPort();

std::string randomBytes(std::size_t n, unsigned seed = 1);

} // namespace pisock::test
