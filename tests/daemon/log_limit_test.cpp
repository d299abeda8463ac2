#include "daemon/log_limit.h"

#include <algorithm>
#include <string>
#include <vector>

#include "tests/catch.h"

using namespace pisock::log;

namespace {

LineLimiter::Limits limits(unsigned perPeer, unsigned total, std::size_t maxPeers = 1024)
{
    LineLimiter::Limits l;
    l.perPeer = perPeer;
    l.total = total;
    l.maxPeers = maxPeers;
    return l;
}

unsigned allowed(LineLimiter &limiter, const std::string &peer, unsigned lines, std::uint64_t nowMs)
{
    unsigned n = 0;
    for (unsigned i = 0; i < lines; ++i)
        n += limiter.allow(peer, nowMs) ? 1 : 0;
    return n;
}

} // namespace

TEST_CASE("the host of a peer address is what limits are kept per", "[log-limit]")
{
    CHECK(peerHost("192.0.2.1:5000") == "192.0.2.1");
    CHECK(peerHost("[2001:db8::1]:5000") == "2001:db8::1");
    CHECK(peerHost("unix") == "unix");
    CHECK(peerHost("unix #5") == "unix"); // one bucket for all, whatever they bind to
    CHECK(peerHost("nonsense") == "nonsense");
}

TEST_CASE("a peer gets its lines per second, then is suppressed until the next second",
          "[log-limit]")
{
    LineLimiter limiter(limits(5, 100));
    CHECK(allowed(limiter, "192.0.2.1:1000", 8, 1000) == 5);
    CHECK(allowed(limiter, "192.0.2.1:1000", 3, 1999) == 0);
    CHECK(allowed(limiter, "192.0.2.1:1000", 8, 2000) == 5);
}

TEST_CASE("connections from one host share its budget", "[log-limit]")
{
    LineLimiter limiter(limits(5, 100));
    unsigned n = 0;
    for (unsigned port = 1000; port < 1010; ++port)
        n += allowed(limiter, "192.0.2.1:" + std::to_string(port), 1, 50);
    CHECK(n == 5);
}

TEST_CASE("one peer's flood leaves other peers their own lines", "[log-limit]")
{
    LineLimiter limiter(limits(5, 100));
    CHECK(allowed(limiter, "192.0.2.1:1", 1000, 0) == 5);
    CHECK(allowed(limiter, "192.0.2.2:1", 5, 0) == 5);
}

TEST_CASE("all peers together stay under the total", "[log-limit]")
{
    LineLimiter limiter(limits(5, 20));
    unsigned n = 0;
    for (int host = 1; host <= 50; ++host)
        n += allowed(limiter, "10.0.0." + std::to_string(host) + ":1", 5, 0);
    CHECK(n == 20);
    // A peer refused by the total keeps its own budget for later.
    CHECK(allowed(limiter, "10.0.0.50:1", 5, 1000) == 5);
}

TEST_CASE("suppressed lines are reported once a second and counted per host", "[log-limit]")
{
    LineLimiter limiter(limits(2, 100));
    allowed(limiter, "192.0.2.1:1", 10, 0);
    allowed(limiter, "[2001:db8::1]:1", 3, 0);
    auto lines = limiter.report(100);
    REQUIRE(lines.size() == 2);
    CHECK(std::find(lines.begin(), lines.end(), "suppressed 8 messages from 192.0.2.1") !=
          lines.end());
    CHECK(std::find(lines.begin(), lines.end(), "suppressed 1 message from 2001:db8::1") !=
          lines.end());
    // Not again within the second, even with more to say.
    allowed(limiter, "192.0.2.1:1", 5, 500);
    CHECK(limiter.report(600).empty());
    lines = limiter.report(1100);
    CHECK(lines == std::vector<std::string>{ "suppressed 5 messages from 192.0.2.1" });
    // Nothing suppressed: nothing to say, and quiet hosts are forgotten.
    CHECK(limiter.report(5000).empty());
    CHECK(limiter.peers() == 0);
}

TEST_CASE("reports are bounded: the hosts past the tenth are summed up in one line", "[log-limit]")
{
    LineLimiter limiter(limits(1, 1000));
    for (int host = 1; host <= 30; ++host)
        allowed(limiter, "10.0.0." + std::to_string(host) + ":1", 3, 0);
    const auto lines = limiter.report(10);
    REQUIRE(lines.size() == LineLimiter::kMaxReports + 1);
    CHECK(lines.back() == "suppressed 40 messages from 20 other peers");
}

TEST_CASE("the table of hosts is bounded; the rest share one budget", "[log-limit]")
{
    LineLimiter limiter(limits(2, 1000, 4));
    for (int host = 1; host <= 100; ++host)
        allowed(limiter, "10.0.0." + std::to_string(host) + ":1", 1, 0);
    CHECK(limiter.peers() == 4);
    const auto lines = limiter.report(10);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "suppressed 94 messages from other peers");
}

TEST_CASE("a limit of 0 lets every line through", "[log-limit]")
{
    LineLimiter limiter(limits(0, 0));
    CHECK(allowed(limiter, "192.0.2.1:1", 10000, 0) == 10000);
    CHECK(limiter.report(0).empty());
}
