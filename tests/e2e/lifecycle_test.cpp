// systemd life cycle end to end: notifications and their order, STATUS, the watchdog, and
// the graceful stop on SIGTERM/SIGINT.

#include <algorithm>
#include <atomic>
#include <fcntl.h>
#include <regex>
#include <signal.h>
#include <string>
#include <sys/socket.h>
#include <thread>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

// Index of the first notification equal to (or starting with) needle at or after from.
std::size_t indexOf(const std::vector<std::string> &notes, std::string_view needle,
                    std::size_t from = 0, bool prefix = false)
{
    for (std::size_t i = from; i < notes.size(); ++i)
        if (prefix ? notes[i].starts_with(needle) : notes[i] == needle)
            return i;
    return notes.size();
}

} // namespace

TEST_CASE("notifications come in order: READY, STATUS, RELOADING and READY, STOPPING",
          "[e2e][lifecycle]")
{
    Daemon d;
    {
        Client c(d.port());
        c.send("hello\n");
        CHECK(c.readLine() == "server rec: hello");
        CHECK(d.waitForNotification("STATUS=1 client now, 1 served, 1 message"));
    }
    CHECK(d.reload());
    CHECK(d.stop(SIGTERM) == 0);

    const auto notes = d.notifications();
    INFO(notes.size() << " notifications");
    REQUIRE_FALSE(notes.empty());
    CHECK(notes.front() == "READY=1");
    const auto status = indexOf(notes, "STATUS=", 0, true);
    const auto reloading = indexOf(notes, "RELOADING=1");
    REQUIRE(reloading < notes.size());
    CHECK(status < reloading);
    // systemd 253 and later want the timestamp with RELOADING=1, in the same message.
    REQUIRE(reloading + 1 < notes.size());
    CHECK(std::regex_match(notes[reloading + 1], std::regex("MONOTONIC_USEC=[1-9][0-9]*")));
    const auto readyAgain = indexOf(notes, "READY=1", reloading);
    const auto stopping = indexOf(notes, "STOPPING=1");
    CHECK(readyAgain < stopping);
    CHECK(stopping < notes.size());
    CHECK(std::count(notes.begin(), notes.end(), "READY=1") == 2);
    CHECK(std::count(notes.begin(), notes.end(), "STOPPING=1") == 1);
}

TEST_CASE("a daemon that cannot listen never says READY=1 and says why in STATUS",
          "[e2e][lifecycle]")
{
    auto taken = listenLoopback();
    DaemonOptions o;
    o.socketActivation = false;
    o.waitReady = false;
    Daemon d({ "--listen", "127.0.0.1:" + std::to_string(localPort(taken.get())) }, o);
    CHECK(d.stop(0, 10s) == 71); // signal 0: only wait
    const auto notes = d.notifications();
    CHECK(std::find(notes.begin(), notes.end(), "READY=1") == notes.end());
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].starts_with("STATUS=cannot bind 127.0.0.1:"));
}

TEST_CASE("STATUS follows the clients and is sent at most about once a second", "[e2e][lifecycle]")
{
    Daemon d;
    const auto start = Clock::now();
    for (int round = 0; round < 60; ++round) {
        Client c(d.port());
        c.send("x\ny\n");
        CHECK(c.readLine());
        CHECK(c.readLine());
    }
    CHECK(d.waitForNotification("STATUS=0 clients now, 60 served, 120 messages"));
    const auto seconds =
            std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count();
    // 120 changes happened; one STATUS per second, plus the first and the last.
    CHECK(d.countNotifications("STATUS=", true) <= static_cast<std::size_t>(seconds) + 3);
}

TEST_CASE("WATCHDOG=1 comes at half of WATCHDOG_USEC", "[e2e][lifecycle]")
{
    DaemonOptions o;
    o.env = { "WATCHDOG_USEC=400000" };
    Daemon d({}, o);
    const auto start = Clock::now();
    CHECK(d.waitForNotifications("WATCHDOG=1", 6, false, 10s));
    const auto elapsed =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    // Six pings 200 ms apart, the first with READY=1: about a second, far less than the
    // six watchdog intervals (2.4 s) that would mean pings only at the full interval.
    CHECK(elapsed < 2400ms);
    CHECK(d.stop() == 0);
}

TEST_CASE("no WATCHDOG=1 when the watchdog is meant for another process", "[e2e][lifecycle]")
{
    DaemonOptions o;
    o.env = { "WATCHDOG_USEC=100000", "WATCHDOG_PID=1" };
    Daemon d({}, o);
    CHECK_FALSE(d.waitForNotification("WATCHDOG=1", 1s));
}

TEST_CASE("SIGTERM delivers every reply owed, then closes clients and exits 0", "[e2e][lifecycle]")
{
    Daemon d;
    Client idle(d.port());
    idle.send("before\n");
    CHECK(idle.readLine() == "server rec: before");
    // A client whose 2000 messages are all sent before the stop, none of the replies read.
    Client pipelined(d.port());
    std::string batch;
    for (int i = 0; i < 2000; ++i)
        batch += "message " + std::to_string(i) + "\n";
    pipelined.send(batch);
    CHECK(d.waitForNotification("STATUS=2 clients now, 2 served, 2001 messages"));
    d.signal(SIGTERM);
    for (int i = 0; i < 2000; ++i) {
        const auto line = pipelined.readLine();
        REQUIRE(line == "server rec: message " + std::to_string(i));
    }
    CHECK(pipelined.readLine() == "error: server stopping");
    CHECK(pipelined.waitForEof());
    CHECK(idle.readLine() == "error: server stopping");
    CHECK(idle.waitForEof());
    // Closing on EOF, as nc and pisock do, lets the daemon finish at once.
    pipelined.shutdownWrite();
    idle.shutdownWrite();
    CHECK(d.stop(0) == 0);
    CHECK(d.waitForLog("stopping: 2 clients to finish"));
    CHECK(d.waitForLog("#1: disconnected (server stopping)"));
    CHECK(d.waitForLog("#2: disconnected (server stopping)"));
    CHECK(d.log().find("shutdown timeout") == std::string::npos);
}

TEST_CASE("a client reading slowly gets the replies to all it had sent before the stop",
          "[e2e][lifecycle]")
{
    Daemon d({ "--shutdown-timeout", "30" });
    Client c(d.port());
    REQUIRE(::fcntl(c.fd(), F_SETFL, ::fcntl(c.fd(), F_GETFL) | O_NONBLOCK) == 0);
    std::uint64_t next = 0;
    std::string pending;
    // Sends numbered lines until the kernel takes no more: the daemon has stopped reading
    // (its output is over the high-water mark) and its socket's receive queue is full.
    auto pump = [&] {
        for (;;) {
            if (pending.empty())
                for (int i = 0; i < 1000; ++i)
                    pending += std::to_string(next++) + "\n";
            const ssize_t n = ::send(c.fd(), pending.data(), pending.size(), MSG_NOSIGNAL);
            if (n <= 0)
                return;
            pending.erase(0, static_cast<std::size_t>(n));
        }
    };
    std::uint64_t answered = 0;
    for (int i = 0; i < 30; ++i) {
        pump();
        const auto seen = d.countNotifications("STATUS=", true);
        if (!d.waitForNotifications("STATUS=", seen + 1, true, 1500ms))
            break;
    }
    std::smatch m;
    const std::string status = d.notifications().back();
    REQUIRE(std::regex_search(status, m, std::regex("served, ([0-9]+) messages")));
    answered = std::stoull(m[1]);
    d.signal(SIGTERM);
    std::uint64_t got = 0;
    bool inOrder = true;
    bool told = false; // the reason line, last
    while (auto line = c.readLine(10s)) {
        if (*line == "error: server stopping") {
            told = true;
            break;
        }
        inOrder = inOrder && *line == "server rec: " + std::to_string(got);
        ++got;
    }
    CHECK(inOrder);
    CHECK(told);
    CHECK(c.waitForEof());
    // More than what was answered when the stop came: what waited in the kernel was owed too.
    CHECK(got > answered);
    c.shutdownWrite();
    CHECK(d.stop(0) == 0);
    CHECK(d.log().find("shutdown timeout") == std::string::npos);
}

TEST_CASE("a client still sending at the shutdown deadline is cut off; the exit is still 0",
          "[e2e][lifecycle]")
{
    Daemon d({ "--shutdown-timeout", "1" });
    Client c(d.port());
    // A sender that never stops, until the daemon cuts it off.
    std::atomic<bool> stopSending = false;
    std::thread sender([&] {
        std::string chunk;
        for (int i = 0; i < 100; ++i)
            chunk += "more\n";
        while (!stopSending) {
            if (::send(c.fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL) < 0)
                break;
        }
    });
    CHECK(c.readLine() == "server rec: more");
    const auto stopAt = Clock::now();
    d.signal(SIGTERM);
    // Everything that comes is whole replies, in order, and perhaps the reason line if the
    // replies owed were all sent before the deadline; then the connection ends.
    bool whole = true;
    bool told = false;
    while (auto line = c.readLine(10s)) {
        if (told)
            whole = false; // nothing after the reason line
        else if (*line == "error: server stopping")
            told = true;
        else
            whole = whole && *line == "server rec: more";
    }
    const int status = d.stop(0);
    stopSending = true;
    ::shutdown(c.fd(), SHUT_RDWR);
    sender.join();
    CHECK(whole);
    CHECK(status == 0);
    CHECK(Clock::now() - stopAt < 6s); // 1 s timeout, 2 s linger at most: far less than this
    CHECK(d.log().find("#1: disconnected") != std::string::npos);
}

TEST_CASE("SIGINT stops like SIGTERM", "[e2e][lifecycle]")
{
    Daemon d;
    Client c(d.port());
    c.send("a\n");
    CHECK(c.readLine() == "server rec: a");
    d.signal(SIGINT);
    CHECK(c.readLine() == "error: server stopping");
    CHECK(c.waitForEof());
    c.shutdownWrite();
    CHECK(d.stop(0) == 0);
    CHECK(d.countNotifications("STOPPING=1") == 1);
}

TEST_CASE("a second SIGTERM closes the clients at once", "[e2e][lifecycle]")
{
    Daemon d({ "--shutdown-timeout", "60" });
    Client c(d.port());
    // A client that never reads its replies: what it is owed can never be delivered, so the
    // daemon would wait the whole shutdown timeout for it.
    std::thread sender([&] {
        const std::string chunk(64 * 1024, '\n');
        while (::send(c.fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL) > 0) {
        }
    });
    // Until the kernel's buffers are full and the daemon stops reading (backpressure): then
    // the message count, and so STATUS, stops changing.
    CHECK(d.waitForNotifications("STATUS=1 client now, 1 served, ", 1, true));
    for (int i = 0; i < 30; ++i) {
        const auto seen = d.countNotifications("STATUS=", true);
        if (!d.waitForNotifications("STATUS=", seen + 1, true, 1500ms))
            break;
    }
    d.signal(SIGTERM);
    CHECK(d.waitForLog("stopping: 1 client to finish"));
    const auto start = Clock::now();
    CHECK(d.stop(SIGTERM) == 0);
    CHECK(Clock::now() - start < 10s); // not the 60 s of the timeout
    CHECK(countOf(d.log(), "second stop signal") == 1);
    CHECK(d.log().find("#1: disconnected (stopped at once)") != std::string::npos);
    ::shutdown(c.fd(), SHUT_RDWR);
    sender.join();
}

TEST_CASE("SIGTERM ends the daemon cleanly with STOPPING=1", "[e2e][lifecycle]")
{
    Daemon d;
    Client c(d.port());
    c.send("hi\n");
    CHECK(c.readLine() == "server rec: hi");
    CHECK(d.stop(SIGTERM) == 0);
    bool sawStopping = false;
    for (const auto &n : d.notifications())
        sawStopping = sawStopping || n == "STOPPING=1";
    CHECK(sawStopping);
    CHECK(c.readLine() == "error: server stopping");
    CHECK(c.waitForEof());
}
