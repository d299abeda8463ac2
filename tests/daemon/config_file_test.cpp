#include "daemon/config_file.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "daemon/options.h"
#include "tests/catch.h"

using namespace pisock;

namespace {

// A temporary directory, removed with its contents.
struct Dir {
    std::string path;
    Dir()
    {
        char tmpl[] = "/tmp/pisockd-config-XXXXXX";
        REQUIRE(::mkdtemp(tmpl));
        path = tmpl;
    }
    ~Dir() { std::filesystem::remove_all(path); }
    [[nodiscard]] std::string write(const std::string &name, const std::string &text) const
    {
        const std::string p = path + "/" + name;
        std::ofstream(p, std::ios::binary) << text;
        return p;
    }
};

// The error parseConfigText or readConfigFile throws, "" if none.
template<typename F> std::string errorOf(F fn)
{
    try {
        fn();
    } catch (const OptionError &e) {
        CHECK(e.exitCode() == 78);
        return e.what();
    }
    return {};
}

std::vector<ConfigEntry> parse(std::string_view text)
{
    return parseConfigText(text, "f.conf");
}

std::string parseError(std::string_view text)
{
    return errorOf([&] { parse(text); });
}

std::string valueOf(std::string_view text)
{
    const auto entries = parse(text);
    REQUIRE(entries.size() == 1);
    return entries[0].value;
}

} // namespace

TEST_CASE("a regular file is read whole; no file is nothing; /dev/null is empty", "[config]")
{
    Dir dir;
    const std::string text = "mode = echo\n" + std::string(10000, '#') + "\nlisten = 1\n";
    CHECK(readConfigFile(dir.write("a.conf", text)) == text);
    CHECK_FALSE(readConfigFile(dir.path + "/missing.conf"));
    CHECK(readConfigFile("/dev/null") == "");
}

TEST_CASE("what is not a readable text file fails closed", "[config]")
{
    Dir dir;
    CHECK(errorOf([&] { readConfigFile(dir.path); }) ==
          dir.path + ": is a directory, not a configuration file");
    const std::string fifo = dir.path + "/fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(errorOf([&] { readConfigFile(fifo); }) == fifo + ": is not a regular file");
    const std::string link = dir.path + "/link.conf";
    REQUIRE(::symlink("nowhere.conf", link.c_str()) == 0);
    CHECK(errorOf([&] { readConfigFile(link); }) ==
          link + ": a symbolic link to a file that does not exist");
    // A read error is an error, not the end of the file (/proc/self/mem: EIO at offset 0).
    CHECK(errorOf([&] { readConfigFile("/proc/self/mem"); }) ==
          "/proc/self/mem: read error after 0 bytes: Input/output error");
    const std::string big = dir.write("big.conf", std::string(kMaxConfigSize + 1, '#'));
    CHECK(errorOf([&] { readConfigFile(big); }) == big + ": larger than 1048576 bytes");
}

TEST_CASE("keys, values, comments and the section header", "[config]")
{
    const auto entries = parse("# comment\n; comment\n\n[pisockd]  # main\n"
                               "  mode = echo\r\nmax_message=1K\nlisten = 1\nlisten = 2");
    REQUIRE(entries.size() == 4);
    CHECK(entries[0].line == 5);
    CHECK(entries[0].key == "mode");
    CHECK(entries[0].value == "echo");
    CHECK(entries[1].key == "max_message");
    CHECK(entries[1].value == "1K");
    CHECK(entries[3].line == 8);
    CHECK(entries[3].value == "2"); // the last line needs no newline
    CHECK(parseError("[other]\n") == "f.conf:1: unknown section [other] (only [pisockd])");
    CHECK(parseError("[pisockd] x\n") == "f.conf:1: expected a section header [pisockd], got "
                                         "'[pisockd] x'");
    CHECK(parseError("mode echo\n") == "f.conf:1: expected KEY = VALUE, got 'mode echo'");
    CHECK(parseError("= echo\n") == "f.conf:1: expected KEY = VALUE, got '= echo'");
}

TEST_CASE("a comment starts at # or ; outside quotes, after a value too", "[config]")
{
    CHECK(valueOf("mode = reply  # comment") == "reply");
    CHECK(valueOf("mode = reply; comment") == "reply");
    CHECK(valueOf("reply-prefix = C#> ") == "C");
    CHECK(valueOf("reply-prefix = # nothing") == "");
    CHECK(valueOf("reply-prefix = \"C# ; \"  # comment") == "C# ; ");
}

TEST_CASE("quotes keep spaces; an unterminated quote or text after it is an error", "[config]")
{
    CHECK(valueOf("reply-prefix = \"server rec: \"") == "server rec: ");
    CHECK(valueOf("reply-prefix = \"a \\\"quoted\\\" \\\\ prefix\"") == "a \"quoted\" \\ prefix");
    CHECK(valueOf("reply-prefix = \"\"") == "");
    CHECK(valueOf("reply-prefix = say \"hi\"") == "say \"hi\""); // unquoted: as written
    CHECK(parseError("reply-prefix = \"server rec: \n") ==
          "f.conf:1: reply-prefix: unterminated quote (a quoted value ends with \" on the same "
          "line)");
    CHECK(parseError("reply-prefix = \"a\\\"\n").find("unterminated quote") != std::string::npos);
    CHECK(parseError("reply-prefix = \"a\"b\"\n") ==
          "f.conf:1: reply-prefix: text after the closing quote: 'b\"'");
}

TEST_CASE("a byte-order mark is skipped; a NUL byte is an error", "[config]")
{
    const auto entries = parse("\xef\xbb\xbfmode = echo\n");
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].key == "mode");
    CHECK(parseError("mode = echo\n\xef\xbb\xbfmode = reply\n").find("f.conf:2: expected KEY") ==
          0); // only at the start
    CHECK(parseError(std::string("mode = echo\nlisten = 1\0\n", 24)) ==
          "f.conf:2: NUL byte: a configuration file is text");
}
