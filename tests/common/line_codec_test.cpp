#include "common/line_codec.h"

#include <string>
#include <tuple>
#include <vector>

#include "tests/catch.h"

using namespace pisock;
using Result = LineCodec::Result;

namespace {

// Feeds text in pieces of chunk bytes and collects what the codec yields; "!" marks TooLong.
std::vector<std::string> run(LineCodec &codec, const std::string &text, std::size_t chunk,
                             bool eof = false)
{
    Buffer in;
    std::vector<std::string> out;
    for (std::size_t pos = 0; pos < text.size(); pos += chunk) {
        REQUIRE(in.append(text.substr(pos, chunk)));
        std::string_view m;
        for (;;) {
            const Result r = codec.next(in, m);
            if (r == Result::NeedMore)
                break;
            out.push_back(r == Result::Message ? std::string(m) : std::string("!"));
        }
    }
    if (eof)
        if (auto last = codec.finish(in))
            out.emplace_back(*last);
    return out;
}

} // namespace

TEST_CASE("a partial line waits for more input", "[codec]")
{
    LineCodec codec;
    Buffer in;
    std::string_view m;
    REQUIRE(in.append("hel"));
    CHECK(codec.next(in, m) == Result::NeedMore);
    CHECK(in.readable() == 3);
    REQUIRE(in.append("lo\n"));
    CHECK(codec.next(in, m) == Result::Message);
    CHECK(m == "hello");
    CHECK(in.readable() == 0);
    CHECK(codec.next(in, m) == Result::NeedMore);
}

TEST_CASE("a line split into one-byte pieces is one message", "[codec]")
{
    LineCodec codec;
    CHECK(run(codec, "one byte at a time\n", 1) ==
          std::vector<std::string>{ "one byte at a time" });
}

TEST_CASE("many lines in one read come out in order", "[codec]")
{
    LineCodec codec;
    std::string text;
    std::vector<std::string> want;
    for (int i = 0; i < 1000; ++i) {
        text += "line " + std::to_string(i) + "\n";
        want.push_back("line " + std::to_string(i));
    }
    CHECK(run(codec, text, text.size()) == want);
}

TEST_CASE("CRLF loses the CR, only one, only before LF", "[codec]")
{
    LineCodec codec;
    CHECK(run(codec, "a\r\nb\r\r\nc\rd\n", 3) == std::vector<std::string>{ "a", "b\r", "c\rd" });
}

TEST_CASE("empty lines are messages", "[codec]")
{
    LineCodec codec;
    CHECK(run(codec, "\n\r\n\n", 1) == std::vector<std::string>{ "", "", "" });
}

TEST_CASE("NUL and invalid UTF-8 pass untouched", "[codec]")
{
    LineCodec codec;
    const std::string line("a\0b\xff\xfe\x01", 6);
    CHECK(run(codec, line + "\n", 2) == std::vector<std::string>{ line });
}

TEST_CASE("an over-long line is reported once and skipped to its end", "[codec]")
{
    LineCodec codec(Framing::Line, 10);
    const std::string text = std::string(25, 'x') + "\nok\n";
    for (std::size_t chunk : { 1u, 4u, 11u, 100u }) {
        LineCodec c(Framing::Line, 10);
        CHECK(run(c, text, chunk) == std::vector<std::string>{ "!", "ok" });
        CHECK_FALSE(c.skipping());
    }
}

TEST_CASE("a line of exactly the limit is accepted, with or without CR", "[codec]")
{
    LineCodec codec(Framing::Line, 5);
    CHECK(run(codec, "12345\n12345\r\n123456\n", 1) ==
          std::vector<std::string>{ "12345", "12345", "!" });
}

TEST_CASE("the codec never holds more than the limit of a skipped line", "[codec]")
{
    LineCodec codec(Framing::Line, 8);
    Buffer in;
    std::string_view m;
    REQUIRE(in.append(std::string(9, 'y')));
    CHECK(codec.next(in, m) == Result::TooLong);
    CHECK(in.readable() == 0);
    CHECK(codec.skipping());
    REQUIRE(in.append(std::string(1000, 'y')));
    CHECK(codec.next(in, m) == Result::NeedMore);
    CHECK(in.readable() == 0);
    REQUIRE(in.append("tail\nnext\n"));
    CHECK(codec.next(in, m) == Result::Message);
    CHECK(m == "next");
    CHECK(in.readable() == 0);
}

TEST_CASE("at end of input an unterminated line is the last message", "[codec]")
{
    LineCodec codec;
    CHECK(run(codec, "a\nb", 1, true) == std::vector<std::string>{ "a", "b" });
    LineCodec crlf;
    CHECK(run(crlf, "a\nb\r", 10, true) == std::vector<std::string>{ "a", "b" });
    LineCodec none;
    CHECK(run(none, "a\n", 10, true) == std::vector<std::string>{ "a" });
}

TEST_CASE("end of input inside a skipped line yields nothing more", "[codec]")
{
    LineCodec codec(Framing::Line, 4);
    CHECK(run(codec, "toolongline", 3, true) == std::vector<std::string>{ "!" });
}

TEST_CASE("raw framing makes each read one message, less its newline", "[codec]")
{
    LineCodec codec(Framing::Raw, 100);
    Buffer in;
    std::string_view m;
    REQUIRE(in.append("hello"));
    CHECK(codec.next(in, m) == Result::Message);
    CHECK(m == "hello");
    CHECK(in.readable() == 0);
    REQUIRE(in.append("two\nlines\r\n"));
    CHECK(codec.next(in, m) == Result::Message);
    CHECK(m == "two\nlines");
    CHECK(codec.next(in, m) == Result::NeedMore);
}

TEST_CASE("ending() is the line ending taken off the last message, as received", "[codec]")
{
    SECTION("raw framing")
    {
        LineCodec codec(Framing::Raw, 100);
        Buffer in;
        std::string_view m;
        for (const auto &[read, message, ending] :
             { std::tuple{ "hello", "hello", "" }, std::tuple{ "hi\n", "hi", "\n" },
               std::tuple{ "hi\r\n", "hi", "\r\n" }, std::tuple{ "cr\r", "cr\r", "" },
               std::tuple{ "\n", "", "\n" }, std::tuple{ "a\nb", "a\nb", "" } }) {
            REQUIRE(in.append(read));
            REQUIRE(codec.next(in, m) == Result::Message);
            CHECK(m == message);
            CHECK(codec.ending() == ending);
        }
    }
    SECTION("line framing")
    {
        LineCodec codec;
        Buffer in;
        std::string_view m;
        REQUIRE(in.append("one\ntwo\r\nthree"));
        REQUIRE(codec.next(in, m) == Result::Message);
        CHECK(codec.ending() == "\n");
        REQUIRE(codec.next(in, m) == Result::Message);
        CHECK(m == "two");
        CHECK(codec.ending() == "\r\n");
        CHECK(codec.next(in, m) == Result::NeedMore);
        CHECK(codec.finish(in) == "three");
        CHECK(codec.ending().empty());
    }
}

TEST_CASE("raw framing reports a read over the limit", "[codec]")
{
    LineCodec codec(Framing::Raw, 4);
    Buffer in;
    std::string_view m;
    REQUIRE(in.append("12345"));
    CHECK(codec.next(in, m) == Result::TooLong);
    CHECK(in.readable() == 0);
    REQUIRE(in.append("1234\n"));
    CHECK(codec.next(in, m) == Result::Message);
    CHECK(m == "1234");
}
