// The Raspberry Pi tutorial's own Python server and client (copies in tests/tutorial), run as
// a reader of the tutorial runs them: its client prints the same bytes against
// pisockd --framing raw as against its server, in Chinese too; against the default line
// framing it waits for ever, and the log says what to do.

#include <charconv>
#include <cstdlib>
#include <string>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

std::string fromEnv(const char *name)
{
    const char *value = std::getenv(name);
    REQUIRE(value != nullptr);
    return value;
}

std::string python()
{
    return fromEnv("PISOCK_PYTHON");
}

std::string tutorialFile(const std::string &name)
{
    return fromEnv("PISOCK_TUTORIAL") + "/" + name;
}

// The tutorial's server on a free loopback port, its console on a terminal of its own. It
// serves one client, then exits.
class TutorialServer
{
public:
    TutorialServer() : console_({ python(), tutorialFile("server.py"), "127.0.0.1", "0" })
    {
        const std::string banner = "端口 ";
        REQUIRE(console_.waitFor(banner));
        REQUIRE(console_.waitFor("\n", 10s, console_.output().find(banner)));
        const std::string &out = console_.output();
        const char *digits = out.data() + out.find(banner) + banner.size();
        REQUIRE(std::from_chars(digits, out.data() + out.size(), port_).ec == std::errc());
    }

    [[nodiscard]] std::uint16_t port() const { return port_; }
    PtyProcess &console() { return console_; }

private:
    PtyProcess console_;
    std::uint16_t port_ = 0;
};

// What the tutorial's client prints when typed is its input (input() reads it line by line).
ProcessResult tutorialClient(std::uint16_t port, std::string_view typed)
{
    return runProcess({ python(), tutorialFile("client.py"), "127.0.0.1", std::to_string(port) },
                      typed, 30s);
}

const std::string kTyped = "hello\n你好，树莓派\n温度 21.5°C, 湿度 40%\nquit\n";

} // namespace

TEST_CASE("the tutorial's client prints the same bytes against pisockd --framing raw as "
          "against the tutorial's server",
          "[e2e][tutorial]")
{
    TutorialServer server;
    const ProcessResult theirs = tutorialClient(server.port(), kTyped);
    INFO(theirs.err);
    REQUIRE(theirs.status == 0);
    // One line per reply, no blank line between them.
    CHECK(theirs.out == "请输入：server rec: hello\n"
                        "请输入：server rec: 你好，树莓派\n"
                        "请输入：server rec: 温度 21.5°C, 湿度 40%\n"
                        "请输入：server rec: quit\n");

    Daemon d({ "--framing", "raw" });
    const ProcessResult ours = tutorialClient(d.port(), kTyped);
    INFO(ours.err);
    CHECK(ours.status == 0);
    CHECK(ours.out == theirs.out);
    CHECK(d.waitForLog("disconnected (quit)"));
}

TEST_CASE("pisock --framing raw prints the same replies from the tutorial's server and from "
          "pisockd --framing raw, and sends as the tutorial's client does",
          "[e2e][tutorial][client]")
{
    const std::string input = "hello\n你好，树莓派\nquit\n";
    const std::string want = "server rec: hello\nserver rec: 你好，树莓派\nserver rec: quit\n";
    {
        TutorialServer server;
        const auto r = runProcess({ clientPath(), "--framing", "raw", "--timeout", "10",
                                    "127.0.0.1", std::to_string(server.port()) },
                                  input, 30s);
        CHECK(r.status == 0);
        CHECK(r.out == want);
        // One message per write, without the newline, as the tutorial's client sends them.
        CHECK(server.console().waitFor("收到： 'hello'\r\n"));
        CHECK(server.console().waitFor("收到： '你好，树莓派'\r\n"));
        CHECK(server.console().waitFor("收到： 'quit'\r\n"));
    }
    Daemon d({ "--framing", "raw" });
    const auto r = runProcess({ clientPath(), "--framing", "raw", "--timeout", "10",
                                std::to_string(d.port()) },
                              input, 30s);
    CHECK(r.status == 0);
    CHECK(r.out == want);
}

TEST_CASE("in line framing the tutorial's client waits, and the log names --framing raw about "
          "a second after its first bytes",
          "[e2e][tutorial]")
{
    Daemon d;
    // A client whose first line ends within the second is no candidate: if it were, its hint
    // would come first and, rate-limited, take the tutorial client's place.
    Client quick(d.port());
    quick.send("par");
    quick.send("tial\n");
    CHECK(quick.readLine() == "server rec: partial");

    const auto sent = Clock::now();
    PtyProcess client(
            { python(), tutorialFile("client.py"), "127.0.0.1", std::to_string(d.port()) });
    REQUIRE(client.waitFor("请输入："));
    client.type("hello\r");
    const std::string hint = "#2: 5 bytes without a newline for a second";
    REQUIRE(d.waitForLog(hint));
    CHECK(Clock::now() - sent >= 1s);
    const std::string log = d.log();
    const std::size_t at = log.find(hint);
    const std::string line =
            log.substr(log.rfind('\n', at) + 1, log.find('\n', at) - log.rfind('\n', at) - 1);
    CHECK(line.find(" info    127.0.0.1:") != std::string::npos);
    CHECK(line.find("run pisockd with --framing raw") != std::string::npos);
    CHECK(log.find("without a newline") == log.rfind("without a newline")); // one hint
    CHECK_FALSE(client.exited()); // still waiting for a reply that line framing never sends
}
