// pisock bench against the real daemon: reports, JSON, every reply checked, exit statuses.

#include <string>
#include <sys/socket.h>
#include <thread>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;
using pisock::UniqueFd;

namespace {

ProcessResult bench(std::vector<std::string> args)
{
    args.insert(args.begin(), { clientPath(), "bench" });
    return runProcess(args, {}, 60s);
}

} // namespace

TEST_CASE("bench against reply mode reports throughput and latency with no errors", "[e2e][bench]")
{
    Daemon d;
    const auto r = bench(
            { "127.0.0.1", std::to_string(d.port()), "-c", "5", "-n", "2000", "--warmup", "0" });
    INFO(r.err);
    CHECK(r.status == 0);
    CHECK(r.out.find("messages   2000") != std::string::npos);
    CHECK(r.out.find("msgs/s") != std::string::npos);
    CHECK(r.out.find("p50 ") != std::string::npos);
    CHECK(r.out.find("p99.9 ") != std::string::npos);
    CHECK(r.out.find("errors     0") != std::string::npos);
    // Every message was answered by the daemon: 5 connections, at least 2000 messages.
    CHECK(d.stop() == 0);
}

TEST_CASE("bench --json in echo mode with pipelining and large messages", "[e2e][bench]")
{
    Daemon d({ "--mode", "echo" });
    const auto r = bench({ std::to_string(d.port()), "--mode", "echo", "-c", "3", "-s", "20000",
                           "-P", "4", "-d", "0.5", "--warmup", "0.1", "--json" });
    INFO(r.err);
    CHECK(r.status == 0);
    CHECK(r.out.rfind("{\"target\":", 0) == 0);
    CHECK(r.out.find("\"mode\":\"echo\"") != std::string::npos);
    CHECK(r.out.find("\"size\":20000") != std::string::npos);
    CHECK(r.out.find("\"pipeline\":4") != std::string::npos);
    CHECK(r.out.find("\"errors\":0") != std::string::npos);
    CHECK(r.out.find("\"p99_9\":") != std::string::npos);
    CHECK(r.out.find("\"messages\":0,") == std::string::npos);
}

TEST_CASE("a reply that differs is an error with status 5", "[e2e][bench]")
{
    Daemon d({ "--reply-prefix", "other: " });
    const auto r = bench({ std::to_string(d.port()), "-c", "2", "-n", "100", "--warmup", "0" });
    CHECK(r.status == 5);
    CHECK(r.err.find("differs from what was sent") != std::string::npos);
    const auto ok = bench({ std::to_string(d.port()), "-c", "2", "-n", "100", "--warmup", "0",
                            "--prefix", "other: " });
    CHECK(ok.status == 0);
}

TEST_CASE("a server that closes early gives status 4, one that never answers status 3",
          "[e2e][bench]")
{
    auto listener = listenLoopback();
    const auto port = std::to_string(localPort(listener.get()));
    std::thread closer([&] {
        // Reads the first message, then closes: a FIN, not the RST that unread data would cause.
        UniqueFd c = acceptWithin(listener.get());
        Client peer(std::move(c));
        peer.readLine();
    });
    auto closed = bench({ port, "-c", "1", "-n", "10", "--warmup", "0" });
    closer.join();
    CHECK(closed.status == 4);
    CHECK(closed.err.find("closed") != std::string::npos);

    std::thread silent([&] {
        UniqueFd c = acceptWithin(listener.get());
        char buf[64];
        // Hold the connection until the client gives up (its timeout), reading what it sends.
        while (::recv(c.get(), buf, sizeof(buf), 0) > 0) {
        }
    });
    auto quiet = bench({ port, "-c", "1", "-n", "10", "--warmup", "0", "--timeout", "0.5" });
    silent.join();
    CHECK(quiet.status == 3);
    CHECK(quiet.err.find("no reply") != std::string::npos);
}

TEST_CASE("nobody listening gives status 1; bad options status 2", "[e2e][bench]")
{
    auto closed = closedLoopbackPort();
    const auto r = bench({ std::to_string(localPort(closed.get())), "-n", "1" });
    CHECK(r.status == 1);
    CHECK(r.err.find("refused") != std::string::npos);
    CHECK(bench({ "--mode", "shout" }).status == 2);
    CHECK(bench({ "-d", "forever" }).status == 2);
    CHECK(bench({ "-P", "0" }).status == 2);
}

TEST_CASE("on a terminal a progress line is redrawn each second; --no-progress leaves it out",
          "[e2e][bench][terminal]")
{
    Daemon d;
    const auto port = std::to_string(d.port());
    PtyProcess shown({ clientPath(), "bench", port, "-c", "2", "--warmup", "1.5", "-d", "1.5" });
    // The line at 1 s is still in the warm-up, the one at 2 s measured; each starts by going
    // back to the start of the line and clearing it, and the report follows a cleared line.
    REQUIRE(shown.waitFor("s warm-up "));
    REQUIRE(shown.waitFor("s measured "));
    CHECK(shown.wait() == 0);
    const std::string &out = shown.output();
    CHECK(out.find("\r\033[K") < out.find("s warm-up "));
    CHECK(out.find("msgs/s  p99 ") != std::string::npos);
    CHECK(out.find("errors 0") != std::string::npos);
    CHECK(out.find("messages   ") > out.rfind("\r\033[K"));

    PtyProcess quiet({ clientPath(), "bench", port, "-c", "2", "--warmup", "0", "-d", "1.2",
                       "--no-progress" });
    CHECK(quiet.wait() == 0);
    CHECK(quiet.output().find("messages   ") != std::string::npos);
    CHECK(quiet.output().find("\033[K") == std::string::npos);
}
