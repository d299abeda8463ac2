// pisock --raw (a byte pipe), --hex (a dump of what arrives) and --framing raw (the tutorial's
// Python server, which answers without a newline).

#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;
using pisock::UniqueFd;

namespace {

ProcessResult runClient(std::vector<std::string> args, std::string_view input = {})
{
    args.insert(args.begin(), clientPath());
    return runProcess(args, input, 60s);
}

// A stand-in for the tutorial's Python server: each recv() is a message, answered with
// "server rec: " and the data, no newline; it stops on "quit" or at EOF.
void tutorialServer(int listenFd, std::vector<std::string> &seen)
{
    UniqueFd conn = acceptWithin(listenFd);
    const auto deadline = Clock::now() + 20s;
    while (conn && Clock::now() < deadline) {
        pollfd p{ conn.get(), POLLIN, 0 };
        if (::poll(&p, 1, 100) <= 0)
            continue;
        char buf[1024];
        const ssize_t n = ::recv(conn.get(), buf, sizeof(buf), 0);
        if (n <= 0)
            break;
        const std::string data(buf, static_cast<std::size_t>(n));
        seen.push_back(data);
        const std::string reply = "server rec: " + data;
        ::send(conn.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
        if (data == "quit")
            break;
    }
}

} // namespace

TEST_CASE("--raw: 1 MiB of random bytes through an echo server comes back identical",
          "[e2e][client]")
{
    Daemon d({ "--mode", "echo" });
    const std::string data = randomBytes(1024 * 1024, 3);
    const auto r = runClient({ "--raw", "127.0.0.1", std::to_string(d.port()) }, data);
    CHECK(r.status == 0);
    CHECK(r.out.size() == data.size());
    CHECK(r.out == data);
    CHECK(r.err.empty());
}

TEST_CASE("--raw sends bytes as they are, with no framing", "[e2e][client]")
{
    Daemon d({ "--mode", "echo" });
    const std::string data("no newline\0\r\nquit\nat the end", 28);
    const auto r = runClient({ "--raw", std::to_string(d.port()) }, data);
    CHECK(r.status == 0);
    CHECK(r.out == data);
}

TEST_CASE("--raw --hex shows what arrives as hexdump -C does", "[e2e][client]")
{
    Daemon d({ "--mode", "echo" });
    const auto r = runClient({ "--raw", "--hex", std::to_string(d.port()) },
                             std::string("hello\n\0\xff"
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                         34));
    CHECK(r.status == 0);
    // One chunk here; pisock shows each chunk as it comes, so rows could split elsewhere.
    CHECK(r.out ==
          "00000000  68 65 6c 6c 6f 0a 00 ff  41 42 43 44 45 46 47 48  |hello...ABCDEFGH|\n"
          "00000010  49 4a 4b 4c 4d 4e 4f 50  51 52 53 54 55 56 57 58  |IJKLMNOPQRSTUVWX|\n"
          "00000020  59 5a                                             |YZ|\n"
          "00000022\n");
}

TEST_CASE("--hex in message mode dumps the replies", "[e2e][client]")
{
    Daemon d;
    const auto r = runClient({ "--hex", "-m", "hi", std::to_string(d.port()) });
    CHECK(r.status == 0);
    CHECK(r.out == "00000000  73 65 72 76 65 72 20 72  65 63 3a 20 68 69 0a     |server rec: hi.|\n"
                   "0000000f\n");
}

TEST_CASE("--framing raw talks to the tutorial's Python server", "[e2e][client]")
{
    UniqueFd listener = listenLoopback();
    std::vector<std::string> seen;
    std::thread server([&] { tutorialServer(listener.get(), seen); });
    const auto r = runClient({ "--framing", "raw", "--timeout", "10", "127.0.0.1",
                               std::to_string(localPort(listener.get())) },
                             "hello\nhow are you\nquit\n");
    server.join();
    CHECK(r.status == 0);
    CHECK(r.out == "server rec: hello\nserver rec: how are you\nserver rec: quit\n");
    // One message per write, without the newline, as the tutorial's client sends them.
    CHECK(seen == std::vector<std::string>{ "hello", "how are you", "quit" });
}

TEST_CASE("--framing raw against pisockd --framing raw", "[e2e][client]")
{
    Daemon d({ "--framing", "raw" });
    const auto r = runClient({ "--framing", "raw", "-m", "one", "-m", "two words", "-m", "three",
                               std::to_string(d.port()) });
    CHECK(r.status == 0);
    CHECK(r.out == "server rec: one\nserver rec: two words\nserver rec: three\n");
}
