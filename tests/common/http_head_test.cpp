#include "common/http_head.h"

#include <string>
#include <vector>

#include "tests/catch.h"

using namespace pisock;
using http::HeadScanner;

namespace {

// Where the scanner finds the end of the head in text fed chunk bytes at a time; 0 if it
// does not, -1 if the head is too large.
long endOf(const std::string &text, std::size_t chunk, std::size_t maxHead = http::kMaxHead)
{
    HeadScanner scanner(maxHead);
    Buffer in;
    std::size_t fed = 0;
    for (std::size_t pos = 0; pos < text.size(); pos += chunk) {
        REQUIRE(in.append(text.substr(pos, chunk)));
        fed += std::min(chunk, text.size() - pos);
        std::size_t length = 0;
        switch (scanner.scan(in, length)) {
        case HeadScanner::Result::NeedMore:
            break;
        case HeadScanner::Result::TooLarge:
            return -1;
        case HeadScanner::Result::Complete:
            // In text's own offsets: dropped empty lines come first.
            return static_cast<long>(fed - in.readable() + length);
        }
    }
    return 0;
}

long endOfBoth(const std::string &text, std::size_t maxHead = http::kMaxHead)
{
    const long whole = endOf(text, text.size(), maxHead);
    for (std::size_t chunk = 1; chunk < 4; ++chunk)
        CHECK(endOf(text, chunk, maxHead) == whole);
    return whole;
}

std::vector<std::string> fieldsOf(const std::string &head, std::string *error = nullptr)
{
    http::HeadReader reader(head);
    std::vector<std::string> out{ std::string(reader.startLine()) };
    http::Field f;
    while (reader.next(f))
        out.push_back(std::string(f.name) + "=" + std::string(f.value));
    if (error)
        *error = reader.error() ? reader.error() : "";
    return out;
}

} // namespace

TEST_CASE("a head ends at its first empty line, CRLF or bare LF", "[http]")
{
    CHECK(endOfBoth("GET / HTTP/1.1\r\nHost: a\r\n\r\nrest") == 27);
    CHECK(endOfBoth("GET / HTTP/1.1\nHost: a\n\nrest") == 24);
    CHECK(endOfBoth("GET / HTTP/1.1\r\nHost: a\n\r\n") == 26);
    CHECK(endOfBoth("GET / HTTP/1.1\r\nHost: a\r\n") == 0);
    CHECK(endOfBoth("GET / HTTP/1.1\r\nHost: a\r\n\r") == 0);
}

TEST_CASE("empty lines before a head are dropped", "[http]")
{
    CHECK(endOfBoth("\r\n\nGET / HTTP/1.1\r\n\r\n") == 21);
}

TEST_CASE("a head is bounded, its empty line and the lines before it included", "[http]")
{
    const std::string head = "GET / HTTP/1.1\r\nX: " + std::string(20, 'x') + "\r\n\r\n";
    CHECK(endOfBoth(head, head.size()) == static_cast<long>(head.size()));
    CHECK(endOfBoth(head, head.size() - 1) == -1);
    CHECK(endOfBoth("\n" + head, head.size()) == -1);
    CHECK(endOfBoth(std::string(100, 'x'), 50) == -1);
}

TEST_CASE("fields are read with their values trimmed", "[http]")
{
    CHECK(fieldsOf("GET / HTTP/1.1\r\nHost:  pi \r\nX-Empty:\r\nA:\tb c\t\r\n\r\n") ==
          std::vector<std::string>{ "GET / HTTP/1.1", "Host=pi", "X-Empty=", "A=b c" });
}

TEST_CASE("a malformed field line stops the walk with a reason", "[http]")
{
    for (const char *head :
         { "GET / HTTP/1.1\r\n folded\r\n\r\n", "GET / HTTP/1.1\r\nNo colon\r\n\r\n",
           "GET / HTTP/1.1\r\nSpace : before\r\n\r\n", "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
           "GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n" }) {
        std::string error;
        fieldsOf(head, &error);
        INFO(head);
        CHECK_FALSE(error.empty());
    }
}

TEST_CASE("tokens in a list are found whatever their case and spacing", "[http]")
{
    CHECK(http::hasToken("keep-alive, Upgrade", "upgrade"));
    CHECK(http::hasToken("Upgrade", "upgrade"));
    CHECK(http::hasToken(" a ,b,  UPGRADE  ", "upgrade"));
    CHECK_FALSE(http::hasToken("upgrades", "upgrade"));
    CHECK_FALSE(http::hasToken("", "upgrade"));
    CHECK(http::isToken("GET"));
    CHECK(http::isToken("Sec-WebSocket-Key"));
    CHECK_FALSE(http::isToken(""));
    CHECK_FALSE(http::isToken("a b"));
    CHECK_FALSE(http::isToken("a:b"));
    CHECK(http::equalsIgnoreCase("WebSocket", "websocket"));
    CHECK_FALSE(http::equalsIgnoreCase("websocket", "websockets"));
}
