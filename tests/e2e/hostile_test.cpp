// Careless and hostile peers: resets in the middle of a reply, disconnects with replies unread,
// half-closes at every point, and a slowloris crowd. The daemon keeps serving everyone else
// and logs one line per event.

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

// What reply mode owes for everything sent before a half-close.
std::string repliesFor(std::string_view sent)
{
    std::string out;
    while (!sent.empty()) {
        const auto nl = sent.find('\n');
        std::string_view line = sent.substr(0, nl);
        sent.remove_prefix(nl == std::string_view::npos ? sent.size() : nl + 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        out += "server rec: " + std::string(line) + "\n";
        if (line == "quit" || line == "exit")
            break;
    }
    return out;
}

// Log lines about connection #id.
std::vector<std::string> linesAbout(const std::string &log, int id)
{
    std::vector<std::string> found;
    const std::string tag = " #" + std::to_string(id) + ": ";
    std::size_t start = 0;
    while (start < log.size()) {
        auto end = log.find('\n', start);
        if (end == std::string::npos)
            end = log.size();
        const std::string line = log.substr(start, end - start);
        if (line.find(tag) != std::string::npos)
            found.push_back(line);
        start = end + 1;
    }
    return found;
}

std::string manyLines(std::size_t count)
{
    std::string s;
    for (std::size_t i = 0; i < count; ++i)
        s += "line " + std::to_string(i) + " " + std::string(80, 'z') + "\n";
    return s;
}

// Sends all without reading anything until the kernel refuses more; returns what was sent.
std::size_t sendUntilBlocked(Client &c, const std::string &all)
{
    std::size_t sent = 0;
    const auto deadline = Clock::now() + 20s;
    while (sent < all.size() && Clock::now() < deadline) {
        const ssize_t n = ::send(c.fd(), all.data() + sent,
                                 std::min<std::size_t>(4096, all.size() - sent),
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN)
            break;
        REQUIRE(n > 0);
        sent += static_cast<std::size_t>(n);
    }
    REQUIRE(sent < all.size());
    return sent;
}

} // namespace

TEST_CASE("a reset in the middle of a reply is one log line; others are served", "[e2e][hostile]")
{
    Daemon d({ "--high-water", "64K", "--low-water", "16K" });
    const std::string all = manyLines(200000);
    std::string lines;
    {
        // Once the kernel takes no more, the daemon has stopped reading with its output over
        // the high-water mark: it is in the middle of the replies when the RST comes.
        Client c(d.port());
        lines = all.substr(0, sendUntilBlocked(c, all));
        CHECK(c.readLine()->rfind("server rec: line 0 ", 0) == 0);
        const linger reset{ 1, 0 };
        ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    } // close() with SO_LINGER 0: RST
    CHECK(d.waitForLog("#1: disconnected (reset by peer)"));
    Client other(d.port());
    CHECK(roundTrip(other, "unharmed"));
    other.close();
    const auto about = linesAbout(d.log(), 1);
    REQUIRE(about.size() == 2); // connected, disconnected
    const auto out = about[1].find(" bytes out");
    REQUIRE(out != std::string::npos);
    const auto sent = std::stoul(about[1].substr(about[1].rfind(' ', out - 1) + 1));
    CHECK(sent < repliesFor(lines).size()); // it was in the middle of the replies
    CHECK(d.log().find("warning") == std::string::npos);
    CHECK(d.stop() == 0);
}

TEST_CASE("a client that leaves with replies unread is one log line; others are served",
          "[e2e][hostile]")
{
    Daemon d;
    {
        Client c(d.port());
        c.send(manyLines(2000));
        CHECK(c.readLine()->rfind("server rec: line 0 ", 0) == 0);
    } // close() with unread input: the client's kernel sends RST
    CHECK(d.waitForLog("#1: disconnected ("));
    Client other(d.port());
    CHECK(roundTrip(other, "unharmed"));
    other.close();
    CHECK(linesAbout(d.log(), 1).size() == 2);
    CHECK(d.log().find("warning") == std::string::npos);
    CHECK(d.stop() == 0);
}

TEST_CASE("a half-close at every point gets every reply owed, then a clean EOF", "[e2e][hostile]")
{
    // Many connections a second from one address: the log limit (--log-rate) would
    // suppress some of the connect/disconnect lines this test counts.
    Daemon d({ "--log-rate", "0" });
    int id = 0;
    for (const std::string script : { "alpha\nbe\r\n\nlast\r", "a\nquit\nafter\n" }) {
        for (std::size_t k = 0; k <= script.size(); ++k) {
            const std::string sent = script.substr(0, k);
            INFO("sent: '" << sent << "'");
            Client c(d.port());
            ++id;
            // In two writes, so the half-close may also fall between them on the wire.
            c.send(sent.substr(0, k / 2));
            c.send(sent.substr(k / 2));
            c.shutdownWrite();
            bool timedOut = true;
            CHECK(c.readToEof(5s, &timedOut) == repliesFor(sent));
            CHECK_FALSE(timedOut);
            CHECK(c.error() == 0);
        }
    }
    Client other(d.port());
    CHECK(roundTrip(other, "unharmed"));
    other.close();
    // One line per event: each client connected and disconnected, nothing else.
    for (int i = 1; i <= id; ++i)
        CHECK(linesAbout(d.log(), i).size() == 2);
    CHECK(d.stop() == 0);
}

TEST_CASE("a half-close while reading is paused by backpressure still gets every reply",
          "[e2e][hostile]")
{
    Daemon d({ "--high-water", "64K", "--low-water", "16K" });
    Client c(d.port());
    // By the time the kernel takes no more, the daemon has stopped reading (its output passed
    // the high-water mark) and our input waits in its socket.
    const std::string all = manyLines(200000);
    const std::size_t sent = sendUntilBlocked(c, all);
    c.shutdownWrite(); // possibly in the middle of a line: that one is answered too
    bool timedOut = true;
    const std::string got = c.readToEof(30s, &timedOut);
    CHECK_FALSE(timedOut);
    CHECK(got.size() == repliesFor(all.substr(0, sent)).size());
    CHECK(got == repliesFor(all.substr(0, sent)));
    c.close();
    CHECK(d.stop() == 0);
}

TEST_CASE("1000 slowloris connections trickling a byte a second do not delay a normal client",
          "[e2e][hostile]")
{
    constexpr std::size_t kSlow = 1000;
    if (raiseFdLimit(kSlow + 100) < kSlow + 100) {
        skipCase("cannot raise RLIMIT_NOFILE to " + std::to_string(kSlow + 100));
        return;
    }
    const auto duration = envSeconds("PISOCK_SLOWLORIS_SECONDS", 10);
    Daemon d; // inherits the raised limit; --max-connections 1024 leaves room for one more
    std::vector<std::unique_ptr<Client>> slow;
    // From 8 addresses: one alone would stop at --max-per-host (256).
    for (std::size_t i = 0; i < kSlow; ++i)
        slow.push_back(std::make_unique<Client>("127.0.0.1", d.port(),
                                                "127.0.0." + std::to_string(2 + i % 8)));
    Client normal(d.port());

    std::vector<double> ms;
    int wrong = 0;
    int trickled = 0;
    auto nextTrickle = Clock::now();
    const auto end = Clock::now() + duration;
    while (Clock::now() < end) {
        if (Clock::now() >= nextTrickle) {
            for (auto &c : slow)
                c->send("x");
            ++trickled;
            nextTrickle += 1s;
        }
        const auto start = Clock::now();
        wrong += roundTrip(normal, "ping " + std::to_string(ms.size())) ? 0 : 1;
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("figure: slowloris %zu connections, %d bytes each: %zu round trips, "
                "p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
                kSlow, trickled, ms.size(), ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back());
    CHECK(wrong == 0);
    CHECK(ms.back() < 1000.0);

    // The slow ones were buffered, not dropped: each finishes its line and gets its reply.
    const std::string line(static_cast<std::size_t>(trickled), 'x');
    std::size_t answered = 0;
    for (auto &c : slow)
        c->send("\n");
    for (auto &c : slow)
        answered += c->readLine(10s) == "server rec: " + line ? 1 : 0;
    CHECK(answered == kSlow);
    slow.clear();
    normal.close();
    CHECK(d.stop() == 0);
}
