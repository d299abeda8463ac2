// pisock's exit statuses against the real daemon: a reply that is an "error:" line (a message
// too long), a server that refuses the connection (busy), a server stopped under pisock at the
// prompt.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

std::vector<std::string> client(std::vector<std::string> args)
{
    args.insert(args.begin(), clientPath());
    return args;
}

std::string readFile(const std::string &path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

TEST_CASE("a message too long is answered with an error line: printed in its place, status 6",
          "[e2e][client][status]")
{
    Daemon d({ "--max-message", "16" });
    const std::string port = std::to_string(d.port());
    const std::string tooLong(40, 'x');
    const std::string out =
            "server rec: short\nerror: message too long (limit 16 bytes)\nserver rec: ok\n";
    const std::string err = "pisock: the server refused 1 of 3 messages: error: message too long "
                            "(limit 16 bytes)\n";
    auto r = runProcess(client({ "-m", "short", "-m", tooLong, "-m", "ok", "127.0.0.1", port }));
    CHECK(r.status == 6);
    CHECK(r.out == out);
    CHECK(r.err == err);
    // Piped, the same.
    r = runProcess(client({ "127.0.0.1", port }), "short\n" + tooLong + "\nok\n");
    CHECK(r.status == 6);
    CHECK(r.out == out);
    CHECK(r.err == err);
}

TEST_CASE("a server at --max-connections: pisock says it is busy, status 6, nothing on stdout",
          "[e2e][client][status]")
{
    Daemon d({ "--max-connections", "1" });
    Client holder(d.port());
    REQUIRE(roundTrip(holder, "mine"));
    const std::string port = std::to_string(d.port());
    auto r = runProcess(client({ "-m", "hi", "127.0.0.1", port }));
    CHECK(r.status == 6);
    CHECK(r.out.empty());
    CHECK(r.err == "pisock: the server closed the connection: error: server busy\n");
    r = runProcess(client({ "127.0.0.1", port }), "one\ntwo\n");
    CHECK(r.status == 6);
    CHECK(r.out.empty());
    CHECK(r.err == "pisock: the server closed the connection: error: server busy\n");
}

TEST_CASE("the server stopped under the prompt: a non-zero status, the reason if the server gave "
          "one, the half-typed line kept on the screen and in the history",
          "[e2e][client][status][terminal]")
{
    Daemon d;
    TempDir dir;
    const std::string prompt = "127.0.0.1:" + std::to_string(d.port()) + "> ";
    PtyProcess t({ clientPath(), "127.0.0.1", std::to_string(d.port()) },
                 { "XDG_STATE_HOME=" + dir.path() + "/state", "HOME=" + dir.path() });
    REQUIRE(t.waitFor(prompt));
    t.type("hello\r");
    REQUIRE(t.waitFor("server rec: hello"));
    t.type("half typed");
    REQUIRE(t.waitFor("half typed"));
    const std::size_t before = t.output().size();
    CHECK(d.stop() == 0); // SIGTERM
    const int status = t.wait();
    const std::string after = t.output().substr(before);
    // pisockd says why ("error: server stopping") before it closes: status 6, never 0, since
    // the user did not ask to leave.
    CHECK(status == 6);
    CHECK(after.find("pisock: the server closed the connection: error: server stopping") !=
          std::string::npos);
    CHECK(after.find("connection closed by server") == std::string::npos);
    // The prompt and the half-typed line are drawn again below the reason, and stay.
    const auto reason = after.find("pisock: the server closed");
    CHECK(after.find(prompt + "half typed", reason) != std::string::npos);
    // libedit's history file writes a space as \040.
    CHECK(readFile(dir.path() + "/state/pisock/history").find("half\\040typed") !=
          std::string::npos);
}

TEST_CASE("the idle timeout at the prompt is not a clean end: a non-zero status and the reason "
          "if the server gave one",
          "[e2e][client][status][terminal]")
{
    Daemon d({ "--idle-timeout", "1" });
    TempDir dir;
    PtyProcess t({ clientPath(), "127.0.0.1", std::to_string(d.port()) },
                 { "XDG_STATE_HOME=" + dir.path() + "/state", "HOME=" + dir.path() });
    REQUIRE(t.waitFor("> "));
    const int status = t.wait(20s);
    CHECK(status == 6);
    CHECK(t.output().find("pisock: the server closed the connection: error: idle timeout (1 s)") !=
          std::string::npos);
    CHECK(d.waitForLog("idle timeout"));
}
