// Limits end to end: --max-connections, --max-per-host, running out of descriptors,
// --idle-timeout, against the real daemon.

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <memory>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;
using pisock::UniqueFd;

namespace {

// The daemon's open descriptors: how many, and the highest number.
std::pair<int, int> openFds(pid_t pid)
{
    const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    int count = 0;
    int highest = -1;
    DIR *d = ::opendir(dir.c_str());
    REQUIRE(d);
    while (dirent *e = ::readdir(d)) {
        if (e->d_name[0] == '.')
            continue;
        ++count;
        highest = std::max(highest, std::atoi(e->d_name));
    }
    ::closedir(d);
    return { count, highest };
}

void setFdLimit(pid_t pid, rlim_t soft)
{
    rlimit lim{};
    REQUIRE(::prlimit(pid, RLIMIT_NOFILE, nullptr, &lim) == 0);
    lim.rlim_cur = soft;
    REQUIRE(::prlimit(pid, RLIMIT_NOFILE, &lim, nullptr) == 0);
}

// A connection attempt that does not wait: with a full listen queue connect() would block.
UniqueFd connectNonBlocking(std::uint16_t port)
{
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int rc = ::connect(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
    REQUIRE((rc == 0 || errno == EINPROGRESS));
    return fd;
}

} // namespace

TEST_CASE("past --max-connections a client is told the server is busy, without a reset",
          "[e2e][limits]")
{
    Daemon d({ "--max-connections", "2" });
    Client a(d.port());
    auto b = std::make_unique<Client>(d.port());
    REQUIRE(roundTrip(a, "a"));
    REQUIRE(roundTrip(*b, "b"));

    // The third sends at once, before reading: closing a socket with unread input sends an
    // RST, which would destroy the busy line on its way; the daemon must linger instead.
    Client c(d.port());
    c.send(std::string(60000, 'x') + "\nmore\n");
    bool timedOut = true;
    CHECK(c.readToEof(5s, &timedOut) == "error: server busy\n");
    CHECK_FALSE(timedOut);
    CHECK(c.error() == 0); // a clean EOF, not ECONNRESET
    CHECK(d.waitForLog("(server busy); 1 refused so far"));

    // A slot frees up: the next client is served.
    b->send("quit\n");
    CHECK(b->readLine() == "server rec: quit");
    CHECK(b->waitForEof());
    b.reset();
    bool served = false;
    for (int i = 0; i < 100 && !served; ++i) { // b's slot is freed once its FIN is handled
        Client retry(d.port());
        retry.send("hello\n");
        served = retry.readLine() == "server rec: hello";
    }
    CHECK(served);
    CHECK(roundTrip(a, "a still here"));
    a.close();
    CHECK(d.stop() == 0);
}

TEST_CASE("--max-per-host refuses one address's extra connections, not another's", "[e2e][limits]")
{
    Daemon d({ "--max-per-host", "3" });
    std::vector<std::unique_ptr<Client>> mine;
    for (int i = 0; i < 3; ++i) {
        mine.push_back(std::make_unique<Client>("127.0.0.1", d.port(), "127.0.0.2"));
        mine.back()->send("hi\n");
        CHECK(mine.back()->readLine() == "server rec: hi");
    }
    Client fourth("127.0.0.1", d.port(), "127.0.0.2");
    CHECK(fourth.readLine() == "error: server busy");
    CHECK(d.waitForLog("(--max-per-host)"));
    Client other("127.0.0.1", d.port(), "127.0.0.3");
    other.send("hi\n");
    CHECK(other.readLine() == "server rec: hi");
    // One leaves: its place is free again.
    mine.pop_back();
    const auto deadline = Clock::now() + 10s;
    bool served = false;
    while (!served && Clock::now() < deadline) {
        Client again("127.0.0.1", d.port(), "127.0.0.2");
        again.send("back\n");
        served = again.readLine() == "server rec: back";
    }
    CHECK(served);
    mine.clear();
    other.close();
    CHECK(d.stop() == 0);
}

TEST_CASE("--max-per-host counts unix socket clients per user", "[e2e][limits]")
{
    TempDir dir;
    const std::string sock = dir.path() + "/pisockd.sock";
    DaemonOptions unixOnly;
    unixOnly.socketActivation = false;
    Daemon d({ "--max-per-host", "3", "--listen", "unix:" + sock }, unixOnly);
    // Every client here is the same user: one host, whatever socket it binds to.
    std::vector<std::unique_ptr<Client>> local;
    for (int i = 0; i < 3; ++i) {
        local.push_back(std::make_unique<Client>(sock, 0));
        local.back()->send("hi\n");
        CHECK(local.back()->readLine() == "server rec: hi");
    }
    Client extra(sock, 0);
    CHECK(extra.readLine() == "error: server busy");
    CHECK(d.waitForLog("(--max-per-host)"));
    local.clear();
    CHECK(d.stop() == 0);
}

TEST_CASE("the daemon raises its descriptor limit to fit --max-connections", "[e2e][limits]")
{
    Daemon d({ "--max-connections", "2000" });
    rlimit lim{};
    REQUIRE(::prlimit(d.pid(), RLIMIT_NOFILE, nullptr, &lim) == 0);
    const rlim_t want = 2000 + 64 + 256;
    if (lim.rlim_max >= want) {
        CHECK(lim.rlim_cur >= want);
    } else { // the hard limit is in the way: said once, at startup
        CHECK(lim.rlim_cur == lim.rlim_max);
        CHECK(d.log().find("descriptor limit") != std::string::npos);
    }
    CHECK(d.stop() == 0);
}

TEST_CASE("out of file descriptors, clients are refused without a busy loop, then served again",
          "[e2e][limits]")
{
#ifdef __SANITIZE_ADDRESS__
    // The sanitizer runtimes need descriptors of their own (UBSan's vptr check opens a pipe
    // to probe memory) and report errors that are not there once they have none.
    skipCase("running out of descriptors is not tested under the sanitizers");
    return;
#endif
    DaemonOptions options;
    options.backlog = 16;
    Daemon d({ "--max-connections", "1000" }, options);
    const auto [count, highest] = openFds(d.pid());
    // Room for exactly `fit` clients: descriptors are numbered from the lowest free one.
    const int limit = highest + 1 + 5;
    const int fit = limit - count;
    setFdLimit(d.pid(), static_cast<rlim_t>(limit));

    std::vector<Client> served;
    int refused = 0;
    for (int i = 0; i < fit + 10; ++i) {
        Client c(d.port());
        c.send("hi\n");
        const auto reply = c.readLine(5s);
        if (reply == "server rec: hi") {
            served.push_back(std::move(c));
            continue;
        }
        CHECK((!reply || reply == "error: server busy"));
        if (reply)
            CHECK(c.waitForEof(5s));
        ++refused;
    }
    // About `fit` (the daemon may briefly hold one more descriptor, sd_notify's socket).
    CHECK(static_cast<int>(served.size()) >= fit - 1);
    CHECK(refused >= 9);
    CHECK(d.waitForLog("out of file descriptors, refusing clients"));

    // Not even the spare descriptor helps now: the queue fills up and stays full.
    setFdLimit(d.pid(), 3);
    std::vector<UniqueFd> queued;
    for (int i = 0; i < 40; ++i)
        queued.push_back(connectNonBlocking(d.port()));
    // Measured while the queue is full: nothing is accepted, so the first client waiting
    // hears nothing.
    const ProcessStats before = processStats(d.pid());
    const auto start = Clock::now();
    pollfd waiting{ queued.front().get(), POLLIN, 0 };
    CHECK(::poll(&waiting, 1, 2000) == 0);
    const double cpu = processStats(d.pid()).cpuSeconds - before.cpuSeconds;
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("figure: daemon CPU %.2f s over %.2f s while its listen queue was full\n", cpu,
                wall);
    CHECK(cpu < 0.1 * wall);
    CHECK(roundTrip(served.front(), "still served"));

    // Descriptors come back: the waiting clients are served, from the ticker's retry.
    setFdLimit(d.pid(), 1024);
    char buf[64];
    std::string reply;
    REQUIRE(::send(queued.front().get(), "back\n", 5, MSG_NOSIGNAL) == 5);
    const auto deadline = Clock::now() + 10s;
    while (reply.find('\n') == std::string::npos && Clock::now() < deadline) {
        pollfd p{ queued.front().get(), POLLIN, 0 };
        if (::poll(&p, 1, 100) > 0) {
            const ssize_t n = ::recv(queued.front().get(), buf, sizeof(buf), 0);
            if (n <= 0)
                break;
            reply.append(buf, static_cast<std::size_t>(n));
        }
    }
    CHECK(reply == "server rec: back\n");
    queued.clear();
    Client fresh(d.port());
    CHECK(roundTrip(fresh, "fresh"));
    fresh.close();
    served.clear();
    CHECK(d.stop() == 0);
}

TEST_CASE("an idle client is closed after --idle-timeout, a busy one is not", "[e2e][limits]")
{
    Daemon d({ "--idle-timeout", "1" });
    Client idle(d.port());
    Client busy(d.port());
    REQUIRE(roundTrip(idle, "then silence"));
    const auto lastActivity = Clock::now();
    // The busy client keeps talking for longer than the timeout.
    int wrong = 0;
    while (Clock::now() - lastActivity < 2500ms)
        wrong += roundTrip(busy, "still here") ? 0 : 1;
    CHECK(wrong == 0);
    CHECK(idle.readLine(5s) == "error: idle timeout (1 s)");
    CHECK(idle.waitForEof(5s));
    const auto idleFor = Clock::now() - lastActivity;
    CHECK(idleFor >= 900ms); // never early (the reply left the daemon before it was read)
    CHECK(idleFor < 4s);
    CHECK(roundTrip(busy, "still here"));
    // Logged when the lingering close ends (our FIN): its duration includes the wait.
    idle.close();
    CHECK(d.waitForLog("#1: disconnected (idle timeout) after "));
    CHECK(d.log().find("#2: disconnected") == std::string::npos);
    busy.close();
    CHECK(d.stop() == 0);
}

TEST_CASE("a client that never reads its replies is closed when idle", "[e2e][limits]")
{
    Daemon d({ "--idle-timeout", "1", "--high-water", "64K", "--low-water", "16K" });
    Client c(d.port());
    // Push until the daemon stops reading (backpressure) and the kernel's buffers are full.
    const std::string lines = [] {
        std::string s;
        while (s.size() < 65536)
            s += std::string(99, 'p') + "\n";
        return s;
    }();
    bool blocked = false;
    const auto deadline = Clock::now() + 20s;
    while (!blocked && Clock::now() < deadline) {
        const ssize_t n = ::send(c.fd(), lines.data(), lines.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        blocked = n < 0 && errno == EAGAIN;
    }
    REQUIRE(blocked);
    CHECK(d.waitForLog("#1: disconnected (idle timeout)", 10s));
    Client other(d.port());
    CHECK(roundTrip(other, "fine"));
    other.close();
    CHECK(d.stop() == 0);
}
