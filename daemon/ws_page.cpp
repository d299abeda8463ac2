#include "ws_page.h"

#include "ws_page_html.h" // generated from ws_page.html by embed.py

namespace pisock {

namespace {

std::string_view modeName(Mode mode) noexcept
{
    switch (mode) {
    case Mode::Reply:
        return "reply";
    case Mode::Echo:
        return "echo";
    case Mode::Broadcast:
        return "broadcast";
    }
    return "unknown";
}

} // namespace

std::string_view wsPageTemplate() noexcept
{
    return { reinterpret_cast<const char *>(kWsPageHtml), sizeof kWsPageHtml };
}

std::string wsPage(Mode mode)
{
    std::string page(wsPageTemplate());
    const std::size_t at = page.find(kWsPageModeMark);
    if (at != std::string::npos)
        page.replace(at, kWsPageModeMark.size(), modeName(mode));
    return page;
}

} // namespace pisock
