// pisock --raw (a byte pipe) and --hex (a dump of what arrives). --framing raw, against the
// tutorial's own Python server, is in tutorial_test.cpp.

#include <string>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

ProcessResult runClient(std::vector<std::string> args, std::string_view input = {})
{
    args.insert(args.begin(), clientPath());
    return runProcess(args, input, 60s);
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
