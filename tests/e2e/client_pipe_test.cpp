// pisock not on a terminal, against the real pisockd: pipelined lines, -m, the exit statuses
// of a session that ends early.

#include <string>
#include <thread>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;
using pisock::UniqueFd;

namespace {

std::vector<std::string> client(std::initializer_list<std::string> args)
{
    std::vector<std::string> argv{ clientPath() };
    argv.insert(argv.end(), args);
    return argv;
}

} // namespace

TEST_CASE("piped lines are answered in order and pisock exits 0", "[e2e][client]")
{
    Daemon d;
    const auto r = runProcess(client({ "127.0.0.1", std::to_string(d.port()) }), "a\nb\n");
    CHECK(r.status == 0);
    CHECK(r.out == "server rec: a\nserver rec: b\n");
    CHECK(r.err.empty());
}

TEST_CASE("10000 piped lines come back complete and in order", "[e2e][client]")
{
    Daemon d;
    std::string input;
    std::string expected;
    for (int i = 0; i < 10000; ++i) {
        input += "line " + std::to_string(i) + "\n";
        expected += "server rec: line " + std::to_string(i) + "\n";
    }
    const auto r = runProcess(client({ "127.0.0.1:" + std::to_string(d.port()) }), input);
    CHECK(r.status == 0);
    CHECK(r.out.size() == expected.size());
    CHECK(r.out == expected);
}

TEST_CASE("large replies to a pipelined batch do not deadlock", "[e2e][client]")
{
    // 24 MiB each way: far more than both socket buffers, so a client that wrote everything
    // before reading would wait forever on a server waiting for it.
    Daemon d;
    const std::string payload(60 * 1024, 'x');
    std::string input;
    for (int i = 0; i < 400; ++i)
        input += std::to_string(i) + payload + "\n";
    const auto r = runProcess(client({ "127.0.0.1", std::to_string(d.port()) }), input, 60s);
    CHECK(r.status == 0);
    REQUIRE(r.out.size() == input.size() + 400 * std::string("server rec: ").size());
    std::size_t pos = 0;
    for (int i = 0; i < 400; ++i) {
        const std::string line = "server rec: " + std::to_string(i) + payload + "\n";
        REQUIRE(r.out.compare(pos, line.size(), line) == 0);
        pos += line.size();
    }
}

TEST_CASE("an unterminated last line and CRLF lines are messages too", "[e2e][client]")
{
    Daemon d;
    const auto r = runProcess(client({ std::to_string(d.port()) }), "one\r\n\ntwo");
    CHECK(r.status == 0);
    CHECK(r.out == "server rec: one\nserver rec: \nserver rec: two\n");
}

TEST_CASE("-m sends each message and prints each reply", "[e2e][client]")
{
    Daemon d({ "--reply-prefix", "got " });
    const auto r = runProcess(client({ "-m", "hello pi", "--message", "second one", "-m", "",
                                       "127.0.0.1", std::to_string(d.port()) }),
                              "stdin is not read\n");
    CHECK(r.status == 0);
    CHECK(r.out == "got hello pi\ngot second one\ngot \n");
}

TEST_CASE("empty input: nothing to send, exit 0", "[e2e][client]")
{
    Daemon d;
    const auto r = runProcess(client({ "127.0.0.1", std::to_string(d.port()) }), "");
    CHECK(r.status == 0);
    CHECK(r.out.empty());
}

TEST_CASE("quit ends the session; lines after it are reported unanswered", "[e2e][client]")
{
    Daemon d;
    auto r = runProcess(client({ "127.0.0.1", std::to_string(d.port()) }), "a\nquit\n");
    CHECK(r.status == 0);
    CHECK(r.out == "server rec: a\nserver rec: quit\n");

    r = runProcess(client({ "127.0.0.1", std::to_string(d.port()) }), "a\nexit\nb\nc\n");
    CHECK(r.status == 4);
    CHECK(r.out == "server rec: a\nserver rec: exit\n");
    CHECK(r.err == "pisock: the server closed the connection after 2 of 4 replies\n");
}

TEST_CASE("a server that closes before answering gives status 4", "[e2e][client]")
{
    UniqueFd listener = listenLoopback();
    const auto port = std::to_string(localPort(listener.get()));
    // A stand-in that reads both lines (so its close is a FIN, not a reset), answers one and
    // hangs up.
    std::thread server([&] {
        Client peer(acceptWithin(listener.get()));
        if (peer.readLine() && peer.readLine())
            peer.send("first\n");
    });
    const auto r = runProcess(client({ "127.0.0.1", port }), "1\n2\n");
    server.join();
    CHECK(r.status == 4);
    CHECK(r.out == "first\n");
    CHECK(r.err == "pisock: the server closed the connection after 1 of 2 replies\n");
}

TEST_CASE("a server that never answers: --timeout gives status 3", "[e2e][client]")
{
    // Listening, so the kernel completes the handshake, but nobody ever reads or answers.
    UniqueFd listener = listenLoopback();
    const auto port = std::to_string(localPort(listener.get()));
    const auto r = runProcess(client({ "--timeout", "0.3", "127.0.0.1", port }), "hello?\n");
    CHECK(r.status == 3);
    CHECK(r.out.empty());
    CHECK(r.err ==
          "pisock: no reply from 127.0.0.1:" + port + " within 300ms (0 of 1 replies received)\n");
}
