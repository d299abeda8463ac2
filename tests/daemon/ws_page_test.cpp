#include "daemon/ws_page.h"

#include <string>

#include "common/units.h"
#include "common/utf8.h"
#include "tests/catch.h"

using namespace pisock;

TEST_CASE("the built-in page is small, UTF-8 and complete in itself", "[ws]")
{
    const auto page = wsPageTemplate();
    CHECK(page.size() < 12 * kKiB);
    CHECK(page.starts_with("<!doctype html>"));
    CHECK(isValidUtf8(page));
    CHECK(page.find("<meta charset=\"utf-8\">") != std::string_view::npos);
    CHECK(page.find("name=\"viewport\"") != std::string_view::npos);
    // No external assets: a LAN may be offline.
    for (const char *ref : { "http://", "https://", "src=", "@import", "url(" }) {
        INFO(ref);
        CHECK(page.find(ref) == std::string_view::npos);
    }
}

TEST_CASE("the page carries the daemon's mode in place of its one placeholder", "[ws]")
{
    const auto page = wsPageTemplate();
    const auto at = page.find(kWsPageModeMark);
    REQUIRE(at != std::string_view::npos);
    CHECK(page.find(kWsPageModeMark, at + 1) == std::string_view::npos);
    for (const auto &[mode, name] :
         { std::pair{ Mode::Reply, "reply" }, std::pair{ Mode::Echo, "echo" },
           std::pair{ Mode::Broadcast, "broadcast" } }) {
        const std::string filled = wsPage(mode);
        CHECK(filled.find(kWsPageModeMark) == std::string::npos);
        CHECK(filled.find("<meta name=\"pisock-mode\" content=\"" + std::string(name) + "\">") !=
              std::string::npos);
    }
}
