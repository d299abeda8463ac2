// pisock on a real pseudo-terminal: the prompt, line editing, history kept between runs,
// quit and Ctrl-D, and lines the server sends unasked printed above a half-typed line.

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;
using pisock::UniqueFd;

namespace {

const std::string kUp = "\x1b[A";
const std::string kCtrlD = "\x04";

std::vector<std::string> stateEnv(const TempDir &dir)
{
    return { "XDG_STATE_HOME=" + dir.path() + "/state", "HOME=" + dir.path() };
}

} // namespace

TEST_CASE("on a terminal: prompt, each line sent and its reply printed, quit exits 0",
          "[e2e][client][terminal]")
{
    Daemon d;
    TempDir dir;
    const std::string prompt = "127.0.0.1:" + std::to_string(d.port()) + "> ";
    PtyProcess t({ clientPath(), "127.0.0.1", std::to_string(d.port()) }, stateEnv(dir));
    REQUIRE(t.waitFor(prompt));
    t.type("hello pi\r");
    REQUIRE(t.waitFor("server rec: hello pi"));
    // Editing: move left twice and insert.
    t.type("secnd\x1b[D\x1b[Do\r");
    REQUIRE(t.waitFor("server rec: second"));
    t.type("quit\r");
    REQUIRE(t.waitFor("server rec: quit"));
    CHECK(t.wait() == 0);
    CHECK(t.output().find("connection closed by server") != std::string::npos);
    CHECK(d.waitForLog("disconnected (quit)"));
}

TEST_CASE("history is kept between runs and recalled with the up arrow", "[e2e][client][terminal]")
{
    Daemon d;
    TempDir dir;
    const auto port = std::to_string(d.port());
    {
        PtyProcess t({ clientPath(), "127.0.0.1", port }, stateEnv(dir));
        REQUIRE(t.waitFor("> "));
        t.type("remember me\r");
        REQUIRE(t.waitFor("server rec: remember me"));
        t.type(kCtrlD);
        CHECK(t.wait() == 0);
    }
    const std::string file = dir.path() + "/state/pisock/history";
    CHECK(std::filesystem::exists(file));

    PtyProcess t({ clientPath(), "127.0.0.1", port }, stateEnv(dir));
    REQUIRE(t.waitFor("> "));
    t.type(kUp);
    REQUIRE(t.waitFor("remember me"));
    t.type(" again\r");
    REQUIRE(t.waitFor("server rec: remember me again"));
    t.type("quit\r");
    CHECK(t.wait() == 0);
}

TEST_CASE("without XDG_STATE_HOME the history goes to ~/.local/state/pisock",
          "[e2e][client][terminal]")
{
    Daemon d;
    TempDir dir;
    PtyProcess t({ clientPath(), "127.0.0.1", std::to_string(d.port()) },
                 { "XDG_STATE_HOME=", "HOME=" + dir.path() });
    REQUIRE(t.waitFor("> "));
    t.type("x\r");
    REQUIRE(t.waitFor("server rec: x"));
    t.type("quit\r");
    CHECK(t.wait() == 0);
    CHECK(std::filesystem::exists(dir.path() + "/.local/state/pisock/history"));
}

TEST_CASE("history is bounded", "[e2e][client][terminal]")
{
    Daemon d;
    TempDir dir;
    PtyProcess t({ clientPath(), "127.0.0.1", std::to_string(d.port()) }, stateEnv(dir));
    REQUIRE(t.waitFor("> "));
    std::string lines;
    for (int i = 0; i < 1100; ++i)
        lines += "line " + std::to_string(i) + "\r";
    t.type(lines);
    REQUIRE(t.waitFor("server rec: line 1099", 30s));
    t.type(kCtrlD);
    CHECK(t.wait(20s) == 0);
    std::ifstream in(dir.path() + "/state/pisock/history");
    int count = 0;
    for (std::string line; std::getline(in, line);)
        ++count;
    CHECK(count > 0);
    CHECK(count <= 1001); // the entries and a header line
}

TEST_CASE("Ctrl-D on an empty line ends the session cleanly", "[e2e][client][terminal]")
{
    Daemon d;
    TempDir dir;
    PtyProcess t({ clientPath(), "127.0.0.1", std::to_string(d.port()) }, stateEnv(dir));
    REQUIRE(t.waitFor("> "));
    t.type(kCtrlD);
    CHECK(t.wait() == 0);
    CHECK(d.waitForLog("disconnected"));
}

TEST_CASE("a line from the server arriving mid-typing leaves the half-typed line intact",
          "[e2e][client][terminal]")
{
    // A stand-in server: the broadcast mode of a later issue sends such lines unasked.
    UniqueFd listener = listenLoopback();
    TempDir dir;
    PtyProcess t({ clientPath(), "127.0.0.1", std::to_string(localPort(listener.get())) },
                 stateEnv(dir));
    Client peer(acceptWithin(listener.get()));
    REQUIRE(peer.fd() >= 0);
    REQUIRE(t.waitFor("> "));
    t.type("half typ");
    REQUIRE(t.waitFor("half typ"));
    const std::size_t before = t.output().size();
    peer.send("alice: hello everyone\n");
    REQUIRE(t.waitFor("alice: hello everyone", 10s, before));
    // The prompt and the half-typed line are drawn again below the server's line.
    const std::size_t shown = t.output().find("alice: hello everyone", before);
    CHECK(t.waitFor("> half typ", 10s, shown));
    t.type("ed\r");
    CHECK(peer.readLine() == "half typed");
    peer.send("server rec: half typed\n");
    CHECK(t.waitFor("server rec: half typed"));
    t.type(kCtrlD);
    CHECK(peer.waitForEof()); // the half-close after Ctrl-D
    CHECK(t.wait() == 0);
}

TEST_CASE("control characters from the server are shown, not obeyed", "[e2e][client][terminal]")
{
    UniqueFd listener = listenLoopback();
    TempDir dir;
    PtyProcess t({ clientPath(), "127.0.0.1", std::to_string(localPort(listener.get())) },
                 stateEnv(dir));
    Client peer(acceptWithin(listener.get()));
    REQUIRE(t.waitFor("> "));
    peer.send("bell\a and \x1b[2J clear\n");
    CHECK(t.waitFor("bell^G and ^[[2J clear"));
    t.type(kCtrlD);
    CHECK(t.wait() == 0);
}

// UTF-8 at the prompt. The tests run with LC_ALL=C.UTF-8 (tests/meson.build); a user's
// zh_CN.UTF-8 behaves the same.

TEST_CASE("Chinese typed at the prompt is sent and answered", "[e2e][client][terminal][utf8]")
{
    Daemon d;
    TempDir dir;
    PtyProcess t({ clientPath(), "127.0.0.1", std::to_string(d.port()) }, stateEnv(dir));
    REQUIRE(t.waitFor("> "));
    t.type("你好，树莓派\r");
    CHECK(t.waitFor("server rec: 你好，树莓派\r\n"));
    t.type("quit\r");
    CHECK(t.wait() == 0);
    // 24 bytes: the six characters (18 bytes of UTF-8) and quit, each with its newline.
    CHECK(d.waitForLog("bytes in"));
    CHECK(d.log().find("disconnected (quit)") != std::string::npos);
    CHECK(d.log().find(", 24 bytes in, ") != std::string::npos);
}

TEST_CASE("with LANG=zh_CN.UTF-8, installed or not, Chinese typed at the prompt is kept",
          "[e2e][client][terminal][utf8]")
{
    Daemon d;
    TempDir dir;
    auto env = stateEnv(dir);
    env.insert(env.end(), { "LC_ALL=", "LC_CTYPE=", "LANG=zh_CN.UTF-8" });
    PtyProcess t({ clientPath(), "127.0.0.1", std::to_string(d.port()) }, env);
    REQUIRE(t.waitFor("> "));
    t.type("树莓派\r");
    CHECK(t.waitFor("server rec: 树莓派\r\n"));
    t.type(kCtrlD);
    CHECK(t.wait() == 0);
}

TEST_CASE("the cursor moves over wide characters: arrows, Ctrl-A, Ctrl-E, backspace",
          "[e2e][client][terminal][utf8]")
{
    Daemon d;
    TempDir dir;
    PtyProcess t({ clientPath(), "127.0.0.1", std::to_string(d.port()) }, stateEnv(dir));
    REQUIRE(t.waitFor("> "));
    t.type("你好树莓派");
    REQUIRE(t.waitFor("你好树莓派"));
    const std::string left = "\x1b[D";
    // Two characters left, insert; to the start, insert; to the end, add one and rub it out.
    t.type(left + left + "，" + "\x01" + "说：" + "\x05" + "！" + "\x7f" + "\r");
    CHECK(t.waitFor("server rec: 说：你好树，莓派\r\n"));
    t.type(kCtrlD);
    CHECK(t.wait() == 0);
}

TEST_CASE("a Chinese line comes back from the history, between runs",
          "[e2e][client][terminal][utf8]")
{
    Daemon d;
    TempDir dir;
    const auto port = std::to_string(d.port());
    {
        PtyProcess t({ clientPath(), "127.0.0.1", port }, stateEnv(dir));
        REQUIRE(t.waitFor("> "));
        t.type("温度是多少\r");
        REQUIRE(t.waitFor("server rec: 温度是多少"));
        t.type("other\r");
        REQUIRE(t.waitFor("server rec: other"));
        t.type(kCtrlD);
        CHECK(t.wait() == 0);
    }
    PtyProcess t({ clientPath(), "127.0.0.1", port }, stateEnv(dir));
    REQUIRE(t.waitFor("> "));
    t.type(kUp + kUp);
    REQUIRE(t.waitFor("温度是多少"));
    t.type("\x7f\x7f"
           "湿度\r"); // two characters rubbed out, not two bytes
    CHECK(t.waitFor("server rec: 温度是湿度\r\n"));
    t.type(kCtrlD);
    CHECK(t.wait() == 0);
}

TEST_CASE("a line from the server above a half-typed Chinese line redraws one row, not two",
          "[e2e][client][terminal][utf8]")
{
    UniqueFd listener = listenLoopback();
    TempDir dir;
    const std::string prompt = "127.0.0.1:" + std::to_string(localPort(listener.get())) + "> ";
    PtyProcess t({ clientPath(), "127.0.0.1", std::to_string(localPort(listener.get())) },
                 stateEnv(dir));
    Client peer(acceptWithin(listener.get()));
    REQUIRE(t.waitFor(prompt));
    // 30 characters, 60 columns (90 bytes): with the prompt it fits the 80-column row.
    std::string half;
    for (int i = 0; i < 10; ++i)
        half += "树莓派";
    REQUIRE(prompt.size() + 60 < 80);
    t.type(half);
    REQUIRE(t.waitFor(half));
    const std::size_t before = t.output().size();
    peer.send("alice: 你好\n");
    REQUIRE(t.waitFor("alice: 你好", 10s, before));
    const std::size_t shown = t.output().find("alice: 你好", before);
    // Erasing the editor went to the start of its row, not a row up into older output.
    CHECK(t.output().substr(before, shown - before).find("\x1b[1A") == std::string::npos);
    CHECK(t.waitFor(prompt + half, 10s, shown));
    t.type("\r");
    CHECK(peer.readLine() == half);
    peer.send("server rec: " + half + "\n");
    CHECK(t.waitFor("server rec: " + half));
    t.type(kCtrlD);
    CHECK(peer.waitForEof());
    CHECK(t.wait() == 0);
}
