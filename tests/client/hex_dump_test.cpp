#include "client/hex_dump.h"

#include "tests/catch.h"

using namespace pisock;

TEST_CASE("rows look like hexdump -C", "[client][hex]")
{
    HexDump dump;
    CHECK(dump.format(std::string("hello\n\0\xff"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                  34)) ==
          "00000000  68 65 6c 6c 6f 0a 00 ff  41 42 43 44 45 46 47 48  |hello...ABCDEFGH|\n"
          "00000010  49 4a 4b 4c 4d 4e 4f 50  51 52 53 54 55 56 57 58  |IJKLMNOPQRSTUVWX|\n"
          "00000020  59 5a                                             |YZ|\n");
    CHECK(dump.offset() == 34);
    CHECK(dump.finish() == "00000022\n");
}

TEST_CASE("a row of exactly 8 bytes keeps the column layout", "[client][hex]")
{
    HexDump dump;
    CHECK(dump.format("12345678") ==
          "00000000  31 32 33 34 35 36 37 38                           |12345678|\n");
}

TEST_CASE("each chunk is shown at once and the offset runs on", "[client][hex]")
{
    HexDump dump;
    CHECK(dump.format("abc") ==
          "00000000  61 62 63                                          |abc|\n");
    CHECK(dump.format("\x7f~") ==
          "00000003  7f 7e                                             |.~|\n");
    CHECK(dump.finish() == "00000005\n");
}

TEST_CASE("nothing received shows nothing", "[client][hex]")
{
    HexDump dump;
    CHECK(dump.format("").empty());
    CHECK(dump.finish().empty());
}
