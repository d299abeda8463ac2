// Backpressure and fairness under load: clients that never read, and one that streams
// 200 MB, must neither grow the daemon without bound nor slow a normal client down.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

struct Latencies {
    std::vector<double> ms;
    std::size_t wrong = 0;

    void report(const char *what)
    {
        std::sort(ms.begin(), ms.end());
        if (ms.empty())
            return;
        std::printf("figure: %s: %zu round trips, p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", what,
                    ms.size(), ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back());
    }
};

} // namespace

TEST_CASE("20 clients that never read stay bounded and do not slow a normal client",
          "[e2e][pressure]")
{
    constexpr std::size_t kPushers = 20;
    const auto duration = envSeconds("PISOCK_PRESSURE_SECONDS", 30);
    // Defaults: --high-water 1M, --low-water 256K. Built with AddressSanitizer, the daemon
    // keeps freed blocks in a 256 MB quarantine, RSS that is not its own: make that small.
    const char *asan = std::getenv("ASAN_OPTIONS");
    DaemonOptions options;
    options.env.push_back(std::string("ASAN_OPTIONS=") + (asan ? asan : "") +
                          ":quarantine_size_mb=4:thread_local_quarantine_size_kb=64");
    Daemon d({}, options);
    const long baseRss = processStats(d.pid()).rssKiB;

    std::vector<std::unique_ptr<Client>> pushers;
    for (std::size_t i = 0; i < kPushers; ++i)
        pushers.push_back(std::make_unique<Client>(d.port()));
    Client normal(d.port());
    std::string chunk;
    while (chunk.size() < 65536)
        chunk += "push " + std::string(94, 'p') + "\n";

    Latencies rtt;
    long peakRss = 0;
    long rssAtThird = 0;
    std::uint64_t pushed = 0;
    std::uint64_t pushedAtHalf = 0;
    auto nextSample = Clock::now();
    const auto start = Clock::now();
    const auto end = start + duration;
    std::vector<pollfd> fds(kPushers);
    while (Clock::now() < end) {
        // Push whatever the kernel takes; wait up to 10 ms for room, which also paces the
        // normal client's round trips.
        for (std::size_t i = 0; i < kPushers; ++i)
            fds[i] = { pushers[i]->fd(), POLLOUT, 0 };
        ::poll(fds.data(), fds.size(), 10);
        for (std::size_t i = 0; i < kPushers; ++i) {
            if (!(fds[i].revents & POLLOUT))
                continue;
            const ssize_t n =
                    ::send(fds[i].fd, chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            REQUIRE((n > 0 || errno == EAGAIN));
            pushed += n > 0 ? static_cast<std::uint64_t>(n) : 0;
        }

        const auto sent = Clock::now();
        const std::string text = "ping " + std::to_string(rtt.ms.size());
        normal.send(text + "\n");
        if (normal.readLine(5s) != "server rec: " + text)
            ++rtt.wrong;
        rtt.ms.push_back(msSince(sent));

        if (Clock::now() >= nextSample) {
            const long rss = processStats(d.pid()).rssKiB;
            peakRss = std::max(peakRss, rss);
            if (rssAtThird == 0 && Clock::now() - start >= duration / 3)
                rssAtThird = rss;
            if (pushedAtHalf == 0 && Clock::now() - start >= duration / 2)
                pushedAtHalf = pushed;
            nextSample += 250ms;
        }
    }
    const ProcessStats after = processStats(d.pid());
    rtt.report("backpressure, normal client while 20 clients push and never read");
    std::printf("figure: backpressure: daemon RSS %ld KiB at start, %ld KiB at a third, "
                "%ld KiB at the end, peak (VmHWM) %ld KiB; %.1f MB pushed, %.3f MB of it in the "
                "second half\n",
                baseRss, rssAtThird, after.rssKiB, after.peakRssKiB,
                static_cast<double>(pushed) / 1e6,
                static_cast<double>(pushed - pushedAtHalf) / 1e6);

    CHECK(rtt.wrong == 0);
    CHECK(rtt.ms.back() < 1000.0);
    // Input is paused: once the buffers are full, nothing more gets in.
    CHECK(pushed - pushedAtHalf < 1024 * 1024);
    // Bounded: each pusher holds at most about --high-water of replies and one message of
    // input (the sanitizer build keeps freed blocks a while, hence the margin).
    CHECK(after.peakRssKiB - baseRss < static_cast<long>(kPushers) * 4 * 1024);
    CHECK(after.rssKiB <= rssAtThird + 2048); // a plateau, not a slope
    pushers.clear();
    normal.close();
    CHECK(d.stop() == 0);
}

TEST_CASE("a client streaming 200 MB in echo mode does not starve another", "[e2e][pressure]")
{
    constexpr std::size_t kTotal = 200u * 1024 * 1024;
    Daemon d({ "--mode", "echo" });
    Client streamer(d.port());
    Client chat(d.port());
    const std::string block = randomBytes(1024 * 1024, 5);

    std::atomic<bool> streaming{ true };
    std::size_t received = 0;
    std::size_t mismatches = 0;
    std::thread pump([&] {
        std::size_t sent = 0;
        std::vector<char> buf(256 * 1024);
        const auto deadline = Clock::now() + 120s;
        while (received < kTotal && Clock::now() < deadline) {
            pollfd p{ streamer.fd(), static_cast<short>(POLLIN | (sent < kTotal ? POLLOUT : 0)),
                      0 };
            if (::poll(&p, 1, 1000) <= 0)
                continue;
            if (p.revents & POLLOUT) {
                const std::size_t at = sent % block.size();
                const ssize_t n = ::send(streamer.fd(), block.data() + at,
                                         std::min(block.size() - at, kTotal - sent),
                                         MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n > 0)
                    sent += static_cast<std::size_t>(n);
            }
            if (p.revents & (POLLIN | POLLHUP)) {
                const ssize_t n = ::recv(streamer.fd(), buf.data(), buf.size(), MSG_DONTWAIT);
                if (n == 0)
                    break;
                for (std::size_t i = 0; i < static_cast<std::size_t>(n);) {
                    const std::size_t at = received % block.size();
                    const std::size_t len =
                            std::min(static_cast<std::size_t>(n) - i, block.size() - at);
                    mismatches += std::memcmp(buf.data() + i, block.data() + at, len) != 0;
                    i += len;
                    received += len;
                }
            }
        }
        streaming = false;
    });

    Latencies rtt;
    std::size_t during = 0;
    const auto start = Clock::now();
    while (streaming) {
        const auto sent = Clock::now();
        const std::string text = "ping " + std::to_string(rtt.ms.size()) + "\n";
        chat.send(text);
        if (chat.readBytes(text.size(), 5s) != text)
            ++rtt.wrong;
        rtt.ms.push_back(msSince(sent));
        during += streaming ? 1 : 0;
    }
    pump.join();
    const double seconds = msSince(start) / 1000;
    std::printf("figure: fairness: 200 MB echoed in %.2f s (%.0f MB/s); %zu round trips of another "
                "client completed meanwhile\n",
                seconds, 200.0 * 1.048576 / seconds, during);
    rtt.report("fairness, other client during a 200 MB echo stream");
    CHECK(received == kTotal);
    CHECK(mismatches == 0);
    CHECK(rtt.wrong == 0);
    CHECK(during >= 10);
    CHECK(rtt.ms.back() < 1000.0);
    streamer.close();
    chat.close();
    CHECK(d.stop() == 0);
}

TEST_CASE("64 clients streaming past the loop turn's budget together all get their echo back",
          "[e2e][pressure]")
{
    // 64 × 1 MiB at once: far more than one turn reads (2 MiB), so most clients are cut short
    // and wait in the rotation; none may wait forever.
    constexpr std::size_t kClients = 64;
    constexpr std::size_t kEach = 1024 * 1024;
    Daemon d({ "--mode", "echo", "--max-per-host", "0" });
    const std::string data = randomBytes(kEach, 9);
    std::vector<Client> clients;
    clients.reserve(kClients);
    for (std::size_t i = 0; i < kClients; ++i)
        clients.emplace_back(d.port());
    std::vector<std::size_t> sent(kClients, 0);
    std::vector<std::size_t> received(kClients, 0);
    std::size_t mismatches = 0;
    std::vector<char> buf(256 * 1024);
    std::vector<pollfd> fds(kClients);
    const auto deadline = Clock::now() + 60s;
    auto finished = [&] {
        return std::all_of(received.begin(), received.end(),
                           [](std::size_t n) { return n == kEach; });
    };
    while (!finished() && Clock::now() < deadline) {
        for (std::size_t i = 0; i < kClients; ++i)
            fds[i] = { clients[i].fd(),
                       static_cast<short>((received[i] < kEach ? POLLIN : 0) |
                                          (sent[i] < kEach ? POLLOUT : 0)),
                       0 };
        if (::poll(fds.data(), fds.size(), 1000) <= 0)
            continue;
        for (std::size_t i = 0; i < kClients; ++i) {
            if (fds[i].revents & POLLOUT) {
                const ssize_t n = ::send(fds[i].fd, data.data() + sent[i], kEach - sent[i],
                                         MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n > 0)
                    sent[i] += static_cast<std::size_t>(n);
            }
            if (fds[i].revents & (POLLIN | POLLHUP)) {
                const ssize_t n = ::recv(fds[i].fd, buf.data(), buf.size(), MSG_DONTWAIT);
                if (n <= 0) {
                    received[i] = kEach; // closed: counted as a mismatch below
                    ++mismatches;
                    continue;
                }
                const auto len = static_cast<std::size_t>(n);
                mismatches += std::memcmp(buf.data(), data.data() + received[i], len) != 0;
                received[i] += len;
            }
        }
    }
    const auto behind = static_cast<std::size_t>(std::count_if(
            received.begin(), received.end(), [](std::size_t n) { return n < kEach; }));
    INFO(behind << " of " << kClients << " clients did not get all their echo within 60 s");
    CHECK(behind == 0);
    CHECK(mismatches == 0);
    for (auto &c : clients)
        c.close();
    CHECK(d.stop() == 0);
}
