// pisock in Simplified Chinese: under a zh_CN.UTF-8 locale (LANG, LC_ALL) or with LANGUAGE=zh_CN
// in another real locale, its messages and --help come from the catalog built from po/zh_CN.po;
// in the C locale they stay in English. The catalog of this build is found through
// PISOCK_LOCALEDIR, as an installed pisock finds /usr/share/locale/zh_CN/LC_MESSAGES/pisock.mo.

#include <sstream>
#include <string>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/locales.h"

using namespace pisock::test;
using pisock::UniqueFd;

namespace {

ProcessResult runClient(std::vector<std::string> args, const std::vector<std::string> &env,
                        std::string_view input = {})
{
    args.insert(args.begin(), clientPath());
    return runProcess(args, input, 20s, env);
}

} // namespace

TEST_CASE("--help in Chinese: CLI11's words, every option and the footer", "[e2e][client][i18n]")
{
    const auto chinese = chineseUser();
    if (!chinese)
        return;
    const auto r = runClient({ "--help" }, *chinese);
    CHECK(r.status == 0);
    CHECK(r.out.find("用法: pisock [选项]") != std::string::npos);
    CHECK(r.out.find("位置参数:") != std::string::npos);
    CHECK(r.out.find("-m,--message TEXT") != std::string::npos);
    CHECK(r.out.find("发送这条消息并打印回复") != std::string::npos);
    CHECK(r.out.find("-h,--help                   显示此帮助并退出") != std::string::npos);
    CHECK(r.out.find("130 被中断（Ctrl-C）") != std::string::npos);
    // Columns as a terminal counts them: the descriptions line up at column 30, and lines
    // are broken between Chinese characters to stay within 80 (a character takes two).
    CHECK(r.out.find("\n  -4                          只用 IPv4 地址\n") != std::string::npos);
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        std::size_t columns = 0;
        for (const unsigned char c : line)
            columns += c < 0x80 ? 1 : (c & 0xC0) == 0xC0 ? 2 : 0; // CJK: 2 columns
        INFO(line);
        CHECK(columns <= 80);
    }
    CHECK(r.out.find("Usage") == std::string::npos);
    const auto bench = runClient({ "bench", "--help" }, *chinese);
    CHECK(bench.status == 0);
    CHECK(bench.out.find("负载生成器") != std::string::npos);
    CHECK(bench.out.find("连接数（默认 50）") != std::string::npos);
}

TEST_CASE("--help stays in English without a Chinese locale", "[e2e][client][i18n]")
{
    // The tests' own LC_ALL=C.UTF-8, and in the C locale even with LANGUAGE=zh_CN: gettext
    // ignores LANGUAGE there (and, since trixie, in C.UTF-8 too).
    for (const auto &env : { std::vector<std::string>{ "LC_ALL=C.UTF-8", "LANGUAGE=",
                                                       "PISOCK_LOCALEDIR=" + builtCatalogs() },
                             std::vector<std::string>{ "LC_ALL=C", "LANGUAGE=zh_CN",
                                                       "PISOCK_LOCALEDIR=" + builtCatalogs() } }) {
        INFO(env.front());
        const auto r = runClient({ "--help" }, env);
        CHECK(r.status == 0);
        CHECK(r.out.find("Usage: pisock [OPTIONS]") != std::string::npos);
        CHECK(r.out.find("send this message and print its reply") != std::string::npos);
    }
}

TEST_CASE("LANGUAGE=zh_CN in another locale (en_GB.UTF-8): Chinese", "[e2e][client][i18n]")
{
    auto env = chineseUser();
    if (!env)
        return;
    // A British system's locale, and Chinese asked for (the first NAME=value wins).
    env->insert(env->begin(), { "LANGUAGE=zh_CN", "LC_ALL=en_GB.UTF-8" });
    const auto r = runClient({ "-4", "-6" }, *env);
    CHECK(r.status == 2);
    CHECK(r.err == "pisock: -4 和 -6 不能同时使用（参见 pisock --help）\n");
}

TEST_CASE("errors in Chinese keep their exit status", "[e2e][client][i18n]")
{
    const auto env = chineseUser();
    if (!env)
        return;
    UniqueFd closed = closedLoopbackPort();
    const auto port = std::to_string(localPort(closed.get()));
    auto r = runClient({ "127.0.0.1", port }, *env, "hello\n");
    CHECK(r.status == 1);
    CHECK(r.err.starts_with("pisock: 无法连接到 127.0.0.1:" + port + "："));

    r = runClient({ "--framing", "words" }, *env);
    CHECK(r.status == 2);
    CHECK(r.err == "pisock: --framing：“words”不是 line、raw 之一\n");

    r = runClient({ "--mdoe" }, *env);
    CHECK(r.status == 2);
    CHECK(r.err == "pisock: 未知选项 --mdoe（参见 pisock --help）\n");
    r = runClient({ "--timout", "5" }, *env);
    CHECK(r.status == 2);
    CHECK(r.err == "pisock: 未知选项 --timout（是不是想用 --timeout？）\n");

    r = runClient({ "-4", "-6" }, *env);
    CHECK(r.status == 2);
    CHECK(r.err == "pisock: -4 和 -6 不能同时使用（参见 pisock --help）\n");
}

TEST_CASE("the same errors in English", "[e2e][client][i18n]")
{
    auto r = runClient({ "--mdoe" }, {});
    CHECK(r.status == 2);
    CHECK(r.err == "pisock: unknown option --mdoe (see pisock --help)\n");
    r = runClient({ "a", "b", "c", "d" }, {});
    CHECK(r.status == 2);
    CHECK(r.err == "pisock: unexpected argument: c d (see pisock --help)\n");
    r = runClient({ "--raw", "--framing", "raw" }, {});
    CHECK(r.status == 2);
    CHECK(r.err == "pisock: --raw and --framing cannot be used together (see pisock --help)\n");
}

TEST_CASE("the end of a session at the prompt, in Chinese", "[e2e][client][i18n][terminal]")
{
    auto env = chineseUser();
    if (!env)
        return;
    Daemon d;
    TempDir dir;
    env->push_back("XDG_STATE_HOME=" + dir.path());
    PtyProcess t({ clientPath(), "127.0.0.1", std::to_string(d.port()) }, *env);
    REQUIRE(t.waitFor("> "));
    t.type("你好\r");
    REQUIRE(t.waitFor("server rec: 你好"));
    t.type("quit\r");
    CHECK(t.waitFor("pisock: 服务器关闭了连接"));
    CHECK(t.wait() == 0);
}

TEST_CASE("a real zh_CN.UTF-8 locale: messages from the catalog, Chinese typed at the prompt",
          "[e2e][client][i18n][terminal]")
{
    auto chinese = chineseUser();
    if (!chinese)
        return;
    // The locale named by LANG alone, as on a system where it is the default.
    auto env = *chinese;
    env.insert(env.begin(), { "LC_ALL=", "LANG=zh_CN.UTF-8" });
    const auto r = runClient({ "-4", "-6" }, env);
    CHECK(r.status == 2);
    CHECK(r.err == "pisock: -4 和 -6 不能同时使用（参见 pisock --help）\n");

    Daemon d;
    TempDir state;
    env.push_back("XDG_STATE_HOME=" + state.path());
    PtyProcess t({ clientPath(), "127.0.0.1", std::to_string(d.port()) }, env);
    REQUIRE(t.waitFor("> "));
    t.type("树莓派\x1b[D你好\r");
    CHECK(t.waitFor("server rec: 树莓你好派\r\n"));
    t.type("quit\r");
    CHECK(t.waitFor("pisock: 服务器关闭了连接"));
    CHECK(t.wait() == 0);
}
